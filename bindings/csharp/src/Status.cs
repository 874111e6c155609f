// Status.cs: the lola_status codes of lola.h as a C# enum, and the exception that carries one.
// The values are the generated ones (SWIG reads lola.h); the names are listed here, and
// LibraryTests.StatusValuesMatchTheLibrary fails when lola.h has a status this enum lacks.
namespace Lola
{
    /// <summary>Result codes of the C API (lola_status).</summary>
    public enum Status
    {
        Ok = (int)Native.lola_status.LOLA_OK,
        InvalidArgument = (int)Native.lola_status.LOLA_ERR_INVALID_ARGUMENT,
        NullHandle = (int)Native.lola_status.LOLA_ERR_NULL_HANDLE,
        NullPointer = (int)Native.lola_status.LOLA_ERR_NULL_POINTER,
        SizeMismatch = (int)Native.lola_status.LOLA_ERR_SIZE_MISMATCH,
        BufferTooSmall = (int)Native.lola_status.LOLA_ERR_BUFFER_TOO_SMALL,
        NonFinite = (int)Native.lola_status.LOLA_ERR_NON_FINITE,
        OutOfMemory = (int)Native.lola_status.LOLA_ERR_OUT_OF_MEMORY,
        CorruptData = (int)Native.lola_status.LOLA_ERR_CORRUPT_DATA,
        VersionMismatch = (int)Native.lola_status.LOLA_ERR_VERSION_MISMATCH,
        Incompatible = (int)Native.lola_status.LOLA_ERR_INCOMPATIBLE,
        Unsupported = (int)Native.lola_status.LOLA_ERR_UNSUPPORTED,
        Internal = (int)Native.lola_status.LOLA_ERR_INTERNAL,
        IO = (int)Native.lola_status.LOLA_ERR_IO,
        Aborted = (int)Native.lola_status.LOLA_ERR_ABORTED,
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
