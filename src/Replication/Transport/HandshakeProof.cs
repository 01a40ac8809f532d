using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Aurora.Replication.Transport;

/// <summary>
/// The handshake's proofs: HMAC-SHA256 keyed with the shared secret over a transcript that binds
/// the direction (a label), both nonces, the cluster id and both replica ids.
/// </summary>
/// <remarks>
/// The transcript is <c>field(label) || field(dialer nonce) || field(acceptor nonce) ||
/// field(cluster id) || field(dialer id) || field(acceptor id)</c>, where <c>field(x)</c> is x's
/// length as 4 bytes big-endian followed by x (strings in UTF-8), so no two different field lists
/// share a transcript. The acceptor proves with <see cref="AcceptorLabel"/>, the dialer with
/// <see cref="DialerLabel"/>, so neither proof can be reflected as the other. Pure and thread-safe.
/// </remarks>
internal static class HandshakeProof
{
    public const string AcceptorLabel = "aurora-replication/acceptor";

    public const string DialerLabel = "aurora-replication/dialer";

    public const int NonceBytes = 32;

    public const int ProofBytes = 32;

    public static byte[] Compute(
        ReadOnlySpan<byte> secret,
        string label,
        ReadOnlySpan<byte> dialerNonce,
        ReadOnlySpan<byte> acceptorNonce,
        string clusterId,
        string dialerId,
        string acceptorId) =>
        HMACSHA256.HashData(secret, Transcript(label, dialerNonce, acceptorNonce, clusterId, dialerId, acceptorId));

    /// <summary>Whether <paramref name="proof"/> is the proof for these fields, compared in constant time.</summary>
    public static bool Verify(
        ReadOnlySpan<byte> secret,
        string label,
        ReadOnlySpan<byte> dialerNonce,
        ReadOnlySpan<byte> acceptorNonce,
        string clusterId,
        string dialerId,
        string acceptorId,
        ReadOnlySpan<byte> proof)
    {
        var expected = Compute(secret, label, dialerNonce, acceptorNonce, clusterId, dialerId, acceptorId);
        return CryptographicOperations.FixedTimeEquals(expected, proof);
    }

    public static byte[] Transcript(
        string label,
        ReadOnlySpan<byte> dialerNonce,
        ReadOnlySpan<byte> acceptorNonce,
        string clusterId,
        string dialerId,
        string acceptorId)
    {
        using var transcript = new MemoryStream();
        Field(transcript, Encoding.UTF8.GetBytes(label));
        Field(transcript, dialerNonce);
        Field(transcript, acceptorNonce);
        Field(transcript, Encoding.UTF8.GetBytes(clusterId));
        Field(transcript, Encoding.UTF8.GetBytes(dialerId));
        Field(transcript, Encoding.UTF8.GetBytes(acceptorId));
        return transcript.ToArray();
    }

    private static void Field(MemoryStream transcript, ReadOnlySpan<byte> value)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, value.Length);
        transcript.Write(length);
        transcript.Write(value);
    }
}
