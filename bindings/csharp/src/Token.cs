// Token.cs: one step of streaming generation, and the UTF-8 joiner that turns token bytes into
// text when a character is split across tokens.
using System.Text;

namespace Lola
{
    /// <summary>A generated token: its id, its raw bytes, and the text it completes.</summary>
    public struct Token
    {
        public int Id { get; private set; }
        /// <summary>The token's bytes as the vocabulary stores them (may end inside a UTF-8
        /// character).</summary>
        public byte[] Bytes { get; private set; }
        /// <summary>The characters this token completes: empty when its bytes only begin a
        /// character, which the next token's Text then carries whole.</summary>
        public string Text { get; private set; }

        public Token(int id, byte[] bytes, string text) : this()
        {
            Id = id;
            Bytes = bytes;
            Text = text;
        }

        public override string ToString()
        {
            return Id + ":" + Text;
        }
    }

    /// <summary>Decodes a stream of token pieces as UTF-8, holding back the bytes of a character
    /// that the next piece completes (System.Text.Decoder keeps that state).</summary>
    public sealed class TokenTextDecoder
    {
        readonly Decoder decoder = new UTF8Encoding(false, false).GetDecoder();

        /// <summary>The text completed by `piece` (possibly empty).</summary>
        public string Push(byte[] piece)
        {
            var chars = new char[decoder.GetCharCount(piece, 0, piece.Length, false)];
            int n = decoder.GetChars(piece, 0, piece.Length, chars, 0, false);
            return new string(chars, 0, n);
        }

        /// <summary>Ends the stream: bytes of an unfinished character become U+FFFD.</summary>
        public string Flush()
        {
            var empty = new byte[0];
            var chars = new char[decoder.GetCharCount(empty, 0, 0, true)];
            int n = decoder.GetChars(empty, 0, 0, chars, 0, true);
            return new string(chars, 0, n);
        }
    }
}
