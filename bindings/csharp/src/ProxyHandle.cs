// ProxyHandle.cs: how the public classes own their native objects.
//
// Choice: the SWIG proxies (Native.lola_model, ...) run lola.i's constructors and destructors,
// so they stay the only code that creates and frees the C objects; each is then owned by a
// SafeHandle. The proxy's own finalizer is suppressed, so exactly one path releases it:
//   - Dispose() releases deterministically; a call already inside native code holds a reference
//     (DangerousAddRef), so a concurrent Dispose waits for it instead of freeing under it;
//   - calls on a context, layer or sampler are serialised by a lock in the lease: liblola lets
//     one thread at a time use them, and two threads feeding one context crashed the process.
//     Model leases skip it (a model is thread-safe), as does Context.RequestAbort (it must
//     reach a running feed);
//   - a forgotten object is released by SafeHandle's critical finalizer, which runs after the
//     ordinary finalizers and survives AppDomain unloads;
//   - any call after Dispose throws ObjectDisposedException before reaching native code;
//   - a dependent (a context) holds a reference on its parent (the model, see SharedHandle), so
//     the model is freed only after its last context and the context can use it meanwhile; if
//     both are left to the GC the order does not matter, as a C context references its model.
using System;
using System.Runtime.InteropServices;

namespace Lola
{
    internal sealed class ProxyHandle<T> : SafeHandle where T : class, IDisposable
    {
        readonly T proxy;
        readonly Action releaseParent;  // drops one reference the caller took, or null
        readonly object callLock = new object();  // held by serialising leases

        /// <summary>Takes ownership of `proxy` (whose C pointer is `raw`) and of one parent
        /// reference, which `releaseParent` drops after the proxy is freed.</summary>
        internal ProxyHandle(T proxy, IntPtr raw, Action releaseParent) : base(IntPtr.Zero, true)
        {
            this.proxy = proxy;
            this.releaseParent = releaseParent;
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
            if (releaseParent != null)
                releaseParent();
            return true;
        }

        /// <summary>The proxy for one native call, kept alive and unreleased until the lease is
        /// disposed; with `serialize`, no other serialising lease of this handle is held
        /// meanwhile (the thread waits for it). Throws ObjectDisposedException (naming `owner`)
        /// after Dispose.</summary>
        internal Lease Acquire(string owner, bool serialize = true)
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
            if (serialize)
                System.Threading.Monitor.Enter(callLock);
            return new Lease(this, serialize);
        }

        /// <summary>The proxy without a check, for a dependent holding a SharedHandle reference
        /// (a context using its model after the Model object was disposed).</summary>
        internal T ProxyForDependent
        {
            get { return proxy; }
        }

        internal struct Lease : IDisposable
        {
            readonly ProxyHandle<T> owner;
            readonly bool serialized;

            internal Lease(ProxyHandle<T> owner, bool serialized)
            {
                this.owner = owner;
                this.serialized = serialized;
            }

            internal T Proxy
            {
                get { return owner.proxy; }
            }

            public void Dispose()
            {
                if (serialized)
                    System.Threading.Monitor.Exit(owner.callLock);
                owner.DangerousRelease();
            }
        }
    }
}

namespace Lola
{
    /// <summary>Counts the users of one handle: its owner object and its dependents. The handle
    /// is disposed when the count reaches zero; a reference can no longer be taken after that.
    /// </summary>
    internal sealed class SharedHandle<T> where T : class, IDisposable
    {
        internal readonly ProxyHandle<T> Handle;
        int refs = 1;  // the owner's

        internal SharedHandle(ProxyHandle<T> handle)
        {
            Handle = handle;
        }

        internal bool TryAddRef()
        {
            while (true)
            {
                int r = System.Threading.Volatile.Read(ref refs);
                if (r == 0)
                    return false;
                if (System.Threading.Interlocked.CompareExchange(ref refs, r + 1, r) == r)
                    return true;
            }
        }

        internal void Release()
        {
            if (System.Threading.Interlocked.Decrement(ref refs) == 0)
                Handle.Dispose();
        }
    }
}
