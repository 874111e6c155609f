// Abi.cs: the ABI check every entry point runs once before its first native call.
// lola.h asks bindings to compare lola_abi_version() with the LOLA_ABI_VERSION they were built
// for; the generated layer exposes that macro as a constant, so a Lola.dll paired with another
// liblola.so fails with this message instead of calling functions whose layout changed.
namespace Lola
{
    /// <summary>Raised when the loaded liblola was built for another ABI than this assembly.
    /// </summary>
    public sealed class AbiMismatchException : System.Exception
    {
        public int Expected { get; private set; }
        public int Actual { get; private set; }

        public AbiMismatchException(int expected, int actual)
            : base(string.Format("liblola ABI mismatch: this Lola assembly was built for ABI " +
                                 "version {0} but the loaded liblola reports {1}; install the " +
                                 "liblola.so matching this package", expected, actual))
        {
            Expected = expected;
            Actual = actual;
        }
    }

    /// <summary>Version information and the one-time ABI check.</summary>
    public static class Library
    {
        static readonly object gate = new object();
        static bool checkedOk;

        /// <summary>LOLA_ABI_VERSION of the header this assembly was generated from.</summary>
        public static int CompiledAbiVersion
        {
            get { return Native.lolacs.LOLA_ABI_VERSION; }
        }

        /// <summary>lola_abi_version() of the loaded native library.</summary>
        public static int RuntimeAbiVersion
        {
            get { return Native.lolacs.lola_abi_version(); }
        }

        /// <summary>lola_version() of the loaded native library, e.g. "0.1.0".</summary>
        public static string Version
        {
            get { EnsureCompatible(); return Native.lolacs.lola_version(); }
        }

        /// <summary>The comparison itself: throws <see cref="AbiMismatchException"/> unless the
        /// two versions are equal (an ABI bump means incompatible layouts, in either direction).
        /// </summary>
        public static void CheckAbi(int compiled, int runtime)
        {
            if (compiled != runtime)
                throw new AbiMismatchException(compiled, runtime);
        }

        /// <summary>Runs <see cref="CheckAbi"/> against the loaded library, once per process.
        /// </summary>
        /// <summary>How many devices of a kind this process can use (lola_device_count): 1 for
        /// the CPU; for CUDA the GPUs the driver reports, 0 without a driver or a GPU.</summary>
        public static int DeviceCount(Device device)
        {
            EnsureCompatible();
            return Native.lolacs.device_count((int)device);
        }

        public static void EnsureCompatible()
        {
            if (checkedOk)
                return;
            lock (gate)
            {
                if (checkedOk)
                    return;
                CheckAbi(CompiledAbiVersion, RuntimeAbiVersion);
                checkedOk = true;
            }
        }

        /// <summary>The library's name for a status, e.g. "LOLA_ERR_SIZE_MISMATCH".</summary>
        public static string StatusName(Status status)
        {
            return Native.lolacs.lola_status_string((Native.lola_status)(int)status);
        }
    }
}
