// NativeSpan.cs: the value that crosses P/Invoke for every Span parameter of the generated layer
// (lola_cs_span in lola_csharp.i): a pointer pinned by `fixed` and its element count.
namespace Lola.Native
{
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    internal struct NativeSpan
    {
        public System.IntPtr Ptr;
        public System.UIntPtr Length;

        public NativeSpan(System.IntPtr ptr, int length)
        {
            Ptr = ptr;
            Length = (System.UIntPtr)(ulong)length;
        }
    }
}
