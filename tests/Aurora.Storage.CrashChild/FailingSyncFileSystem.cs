using Aurora.Storage.IO;

namespace Aurora.Storage.CrashChild;

/// <summary>
/// Once armed, makes the fdatasync of the active segment after <c>successfulSyncs</c> successful
/// ones fail with EIO, and all later ones too (a disk that has gone bad stays bad).
/// </summary>
/// <remarks>
/// Only syncs of files opened <see cref="FileOpenMode.ReadWriteExisting"/> count: the active
/// segment, whose group commits and seals the log must treat as fatal when they fail (after a roll
/// its handle still carries the temp name it was opened under). The background preparation of the
/// next segment creates its file and retries a failed sync by design, so failing it would not
/// reach the fatal path. Safe for concurrent use; <paramref name="beforeFailing"/> runs on the
/// thread whose sync fails.
/// </remarks>
public sealed class FailingSyncFileSystem(IFileSystem inner, int successfulSyncs, Action<int> beforeFailing) : DelegatingFileSystem(inner)
{
    private const int Eio = 5;

    private int _syncs;
    private volatile bool _armed;

    /// <summary>Starts counting; syncs before this (recovery on open) always succeed.</summary>
    public void Arm() => _armed = true;

    protected override void DataSync(IStorageFile file, FileOpenMode mode)
    {
        if (_armed && mode == FileOpenMode.ReadWriteExisting)
        {
            var number = Interlocked.Increment(ref _syncs);
            if (number > successfulSyncs)
            {
                beforeFailing(number);
                throw new IOException($"fdatasync {file.Path}: Input/output error (errno {Eio}, injected by the crash test)", Eio);
            }
        }

        file.DataSync();
    }
}
