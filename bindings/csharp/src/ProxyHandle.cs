// ProxyHandle.cs: how the public classes own their native objects.
//
// Choice: the SWIG proxies (Native.lola_model, ...) run lola.i's constructors and destructors,
// so they stay the only code that creates and frees the C objects; each is then owned by a
// SafeHandle. The proxy's own finalizer is suppressed, so exactly one path releases it:
//   - Dispose() releases deterministically; a call already inside native code holds a reference
//     (DangerousAddRef), so a concurrent Dispose waits for it instead of freeing under it;
//   - a forgotten object is released by SafeHandle's critical finalizer, which runs after the
//     ordinary finalizers and survives AppDomain unloads;
//   - any call after Dispose throws ObjectDisposedException before reaching native code;
//   - a dependent handle (a context) holds a reference on its parent (the model's handle), so
//     the parent is freed only after its last dependent, whatever order the GC finalizes them in.
using System;
using System.Runtime.InteropServices;

namespace Lola
{
    internal sealed class ProxyHandle<T> : SafeHandle where T : class, IDisposable
    {
        readonly T proxy;
        readonly SafeHandle parent;  // holds one reference taken by the caller, or null

        /// <summary>Takes ownership of `proxy` (whose C pointer is `raw`) and of one reference on
        /// `parent` that the caller has already added.</summary>
        internal ProxyHandle(T proxy, IntPtr raw, SafeHandle parent) : base(IntPtr.Zero, true)
        {
            this.proxy = proxy;
            this.parent = parent;
            SetHandle(raw);
            GC.SuppressFinalize(proxy);
        }

        public override bool IsInvalid
        {
            get { return handle == IntPtr.Zero; }
        }

        protected override bool ReleaseHandle()
        {
            proxy.Dispose();
            if (parent != null)
                parent.DangerousRelease();
            return true;
        }

        /// <summary>The proxy for one native call, kept alive and unreleased until the lease is
        /// disposed. Throws ObjectDisposedException (naming `owner`) after Dispose.</summary>
        internal Lease Acquire(string owner)
        {
            bool added = false;
            try
            {
                DangerousAddRef(ref added);
            }
            catch (ObjectDisposedException)
            {
                throw new ObjectDisposedException(owner);
            }
            return new Lease(this);
        }

        internal struct Lease : IDisposable
        {
            readonly ProxyHandle<T> owner;

            internal Lease(ProxyHandle<T> owner)
            {
                this.owner = owner;
            }

            internal T Proxy
            {
                get { return owner.proxy; }
            }

            public void Dispose()
            {
                owner.DangerousRelease();
            }
        }
    }
}
