using Aurora.Storage.IO;

namespace Aurora.Storage.CrashChild;

/// <summary>
/// Writes to the active segment page by page, pausing between pages, so that a SIGKILL often lands
/// in the middle of one of the log's writes.
/// </summary>
/// <remarks>
/// The kernel copies a write into the page cache page by page and gives up at the next page when
/// the process is being killed, so a real pwrite can end at any page boundary of the file; this
/// makes the same tears, only far more often, without inventing any the kernel could not make.
/// The pause widens the window for the kill; nothing waits on it. Only the active segment (opened
/// <see cref="FileOpenMode.ReadWriteExisting"/>) is split: temp files are thrown away anyway.
/// </remarks>
public sealed class PageSplittingFileSystem(IFileSystem inner) : DelegatingFileSystem(inner)
{
    private const int PageSize = 4096;
    private static readonly TimeSpan PauseBetweenPages = TimeSpan.FromMilliseconds(1);

    protected override void Write(IStorageFile file, FileOpenMode mode, long offset, ReadOnlySpan<byte> data)
    {
        if (mode != FileOpenMode.ReadWriteExisting)
        {
            file.Write(offset, data);
            return;
        }

        while (!data.IsEmpty)
        {
            var toPageEnd = (int)Math.Min(data.Length, PageSize - (offset % PageSize));
            file.Write(offset, data[..toPageEnd]);
            offset += toPageEnd;
            data = data[toPageEnd..];
            if (!data.IsEmpty)
            {
                Thread.Sleep(PauseBetweenPages);
            }
        }
    }
}
