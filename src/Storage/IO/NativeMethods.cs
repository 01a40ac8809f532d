using System.Runtime.InteropServices;

namespace Aurora.Storage.IO;

/// <summary>The few POSIX calls the BCL does not expose: fdatasync, and fsync on a directory.</summary>
internal static partial class NativeMethods
{
    private const int ReadOnlyDirectoryFlags = 0x10000; // O_RDONLY | O_DIRECTORY on Linux

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fdatasync(nint fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fsync(nint fd);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(nint fd);

    public static void DataSync(Microsoft.Win32.SafeHandles.SafeFileHandle handle, string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            // Portable fallback: full fsync through the BCL.
            RandomAccess.FlushToDisk(handle);
            return;
        }

        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            if (fdatasync(handle.DangerousGetHandle()) != 0)
            {
                throw ErrnoException("fdatasync", path);
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    public static void SyncDirectory(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var fd = Open(path, ReadOnlyDirectoryFlags);
        if (fd < 0)
        {
            throw ErrnoException("open directory", path);
        }

        try
        {
            if (fsync(fd) != 0)
            {
                throw ErrnoException("fsync directory", path);
            }
        }
        finally
        {
            _ = close(fd);
        }
    }

    private static IOException ErrnoException(string operation, string path)
    {
        var errno = Marshal.GetLastPInvokeError();
        return new IOException($"{operation} {path}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno);
    }
}
