// StepwiseAsyncEnumerable.cs: IAsyncEnumerable<T> over a lazy IEnumerable<T> whose steps block
// (a token's forward pass): each MoveNextAsync runs one MoveNext on the thread pool, so the
// caller's thread never waits for native code. Written by hand because mono's mcs (C# 7.2)
// has no async iterators; the interfaces are in mono's BCL and in netstandard2.1, so the same
// code serves `await foreach` (C# 8) and explicit MoveNextAsync loops.
//
// Cancellation: the token is checked before each step, so a cancellation stops the sequence
// at the next step boundary with OperationCanceledException (a canceled task); a step already
// running finishes (its item is returned) and the source decides what its own steps do with
// the token (the chat passes it to the prompt's feed).
using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace Lola
{
    internal sealed class StepwiseAsyncEnumerable<T> : IAsyncEnumerable<T>
    {
        readonly Func<CancellationToken, IEnumerable<T>> source;
        readonly CancellationToken bound;  // the token given to GenerateAsync & co.

        internal StepwiseAsyncEnumerable(Func<CancellationToken, IEnumerable<T>> source,
                                         CancellationToken cancellationToken)
        {
            this.source = source;
            bound = cancellationToken;
        }

        /// <summary>`cancellationToken` (from `await foreach (... .WithCancellation(t))`) and
        /// the one bound at creation both cancel.</summary>
        public IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default(CancellationToken))
        {
            CancellationTokenSource linked = null;
            CancellationToken ct = bound;
            if (cancellationToken.CanBeCanceled && !cancellationToken.Equals(bound))
            {
                if (bound.CanBeCanceled)
                {
                    linked = CancellationTokenSource.CreateLinkedTokenSource(bound, cancellationToken);
                    ct = linked.Token;
                }
                else
                {
                    ct = cancellationToken;
                }
            }
            return new Enumerator(source(ct).GetEnumerator(), ct, linked);
        }

        sealed class Enumerator : IAsyncEnumerator<T>
        {
            readonly IEnumerator<T> inner;
            readonly CancellationToken ct;
            readonly CancellationTokenSource linked;
            Task<bool> pending;  // the step in flight or the last one
            T current;
            int busy;            // 1 while a step runs
            bool finished, disposed;

            internal Enumerator(IEnumerator<T> inner, CancellationToken ct, CancellationTokenSource linked)
            {
                this.inner = inner;
                this.ct = ct;
                this.linked = linked;
            }

            public T Current
            {
                get { return current; }
            }

            public ValueTask<bool> MoveNextAsync()
            {
                if (Interlocked.Exchange(ref busy, 1) != 0)
                    throw new InvalidOperationException("MoveNextAsync was called while the previous step was still running");
                if (disposed)
                {
                    Volatile.Write(ref busy, 0);
                    throw new ObjectDisposedException("IAsyncEnumerator");
                }
                if (finished)
                {
                    Volatile.Write(ref busy, 0);
                    return new ValueTask<bool>(false);
                }
                if (ct.IsCancellationRequested)
                {
                    finished = true;
                    Volatile.Write(ref busy, 0);
                    return new ValueTask<bool>(Canceled());
                }
                var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                pending = done.Task;
                ThreadPool.QueueUserWorkItem(_ => Step(done));
                return new ValueTask<bool>(done.Task);
            }

            void Step(TaskCompletionSource<bool> done)
            {
                bool more = false;
                Exception error = null;
                bool canceled = false;
                try
                {
                    // Again on the pool thread: a cancellation while the step was queued
                    // stops it before it touches the native objects.
                    if (ct.IsCancellationRequested)
                    {
                        canceled = true;
                    }
                    else
                    {
                        more = inner.MoveNext();
                        if (more)
                            current = inner.Current;
                    }
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    canceled = true;
                }
                catch (Exception e)
                {
                    error = e;
                }
                finished = !more;
                // Released before the task completes, so a continuation may step again.
                Volatile.Write(ref busy, 0);
                if (canceled)
                    done.TrySetCanceled(ct);
                else if (error != null)
                    done.TrySetException(error);
                else
                    done.TrySetResult(more);
            }

            Task<bool> Canceled()
            {
                var t = new TaskCompletionSource<bool>();
                t.TrySetCanceled(ct);
                return t.Task;
            }

            /// <summary>Waits for a step in flight, then disposes the source's enumerator
            /// (the chat frees its context there).</summary>
            public ValueTask DisposeAsync()
            {
                if (disposed)
                    return default(ValueTask);
                disposed = true;
                var step = pending;
                if (step != null && !step.IsCompleted)
                    return new ValueTask(step.ContinueWith(_ => Close(), CancellationToken.None,
                                                           TaskContinuationOptions.ExecuteSynchronously,
                                                           TaskScheduler.Default));
                Close();
                return default(ValueTask);
            }

            void Close()
            {
                inner.Dispose();
                if (linked != null)
                    linked.Dispose();
            }
        }
    }
}
