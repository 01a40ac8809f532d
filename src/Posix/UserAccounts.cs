using System.Runtime.InteropServices;

namespace Aurora.Posix;

/// <summary>A Unix account as the passwd database (NSS) has it.</summary>
/// <param name="Name">The login name.</param>
/// <param name="Uid">The user id.</param>
/// <param name="Gid">The primary group id.</param>
/// <param name="Home">The home directory.</param>
public sealed record UnixUser(string Name, uint Uid, uint Gid, string Home)
{
    public bool IsRoot => Uid == 0;
}

/// <summary>
/// Looks accounts up with getpwnam_r(3), so NSS sources (LDAP, sssd) count as well as
/// <c>/etc/passwd</c>, and tells the process's own effective uid.
/// </summary>
/// <remarks>Stateless and thread-safe (the reentrant call with a buffer per call).</remarks>
public static partial class UserAccounts
{
    private const int RangeError = 34; // ERANGE: the buffer is too small.

    /// <summary>The account named <paramref name="name"/>, or null when there is none.</summary>
    /// <exception cref="IOException">The lookup itself failed (an NSS source is unreachable, out of memory).</exception>
    public static unsafe UnixUser? Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0 || name.Contains('\0', StringComparison.Ordinal))
        {
            return null;
        }

        for (var size = 4096; size <= 1 << 20; size *= 4)
        {
            var buffer = new byte[size];
            Passwd entry;
            nint result;
            int error;
            fixed (byte* bytes = buffer)
            {
                error = GetpwnamR(name, &entry, bytes, (nuint)size, &result);
                if (error == 0)
                {
                    return result == 0
                        ? null
                        : new UnixUser(
                            Marshal.PtrToStringUTF8(entry.Name) ?? name,
                            entry.Uid,
                            entry.Gid,
                            Marshal.PtrToStringUTF8(entry.Dir) ?? "/");
                }
            }

            if (error != RangeError)
            {
                // ENOENT, ESRCH, EBADF and EPERM all mean "no such user" for getpwnam_r.
                if (error is 2 or 3 or 9 or 1)
                {
                    return null;
                }

                throw new IOException($"getpwnam_r({name}): {Errno.Describe(error)}");
            }
        }

        throw new IOException($"getpwnam_r({name}): the entry does not fit in 1 MiB");
    }

    /// <summary>The effective uid of this process (geteuid(2)).</summary>
    public static uint EffectiveUid() => GetEuid();

    /// <summary>chown(2) without following a final symbolic link (lchown): 0, or the errno.</summary>
    public static int ChangeOwner(string path, uint uid, uint gid)
    {
        ArgumentNullException.ThrowIfNull(path);
        return LchownCall(path, uid, gid) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Passwd
    {
        public nint Name;
        public nint Password;
        public uint Uid;
        public uint Gid;
        public nint Gecos;
        public nint Dir;
        public nint Shell;
    }

    [LibraryImport("libc", EntryPoint = "getpwnam_r", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int GetpwnamR(string name, Passwd* entry, byte* buffer, nuint size, nint* result);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuid();

    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LchownCall(string path, uint uid, uint gid);
}
