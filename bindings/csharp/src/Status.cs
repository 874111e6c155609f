// Status.cs: the lola_status codes of lola.h as a C# enum, and the exception that carries one.
// Values must stay equal to lola.h (they are stable there and only appended); the test suite
// checks each against the library's own lola_status_string().
namespace Lola
{
    /// <summary>Result codes of the C API (lola_status).</summary>
    public enum Status
    {
        Ok = 0,
        InvalidArgument = 1,
        NullHandle = 2,
        NullPointer = 3,
        SizeMismatch = 4,
        BufferTooSmall = 5,
        NonFinite = 6,
        OutOfMemory = 7,
        CorruptData = 8,
        VersionMismatch = 9,
        Incompatible = 10,
        Unsupported = 11,
        Internal = 12,
        IO = 13,
        Aborted = 14,
    }

    /// <summary>A failed liblola call: its <see cref="Status"/> and the library's message
    /// (lola_last_error_message(), read on the failing thread right after the call).</summary>
    public class LolaException : System.Exception
    {
        public Status Status { get; private set; }

        /// <summary>The C library's message alone, without the status prefix.</summary>
        public string NativeMessage { get; private set; }

        public LolaException(Status status, string nativeMessage)
            : base(Format(status, nativeMessage))
        {
            Status = status;
            NativeMessage = nativeMessage ?? "";
        }

        static string Format(Status status, string message)
        {
            return string.IsNullOrEmpty(message) ? status.ToString() : status + ": " + message;
        }
    }
}
