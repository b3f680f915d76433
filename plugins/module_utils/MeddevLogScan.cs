// Copyright: meddev.hardening contributors
// GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
//
// The hot loop of iis_log_scan.ps1: IIS W3C logs streamed as bytes with bounded memory, parsed by
// the #Fields: header in force, matched against the controller's indicator patterns. The rules
// are those of plugins/module_utils/iis_logs.py (the winsim twin); keep the two in step, and
// tests/unit/test_logscan_csharp.py compares them on the same bytes.
// Compiled by Windows PowerShell 5.1 (csc.exe of .NET Framework 4.x, warnings are errors) through
// Ansible's Add-CSharpType: C# 5 only.

using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.RegularExpressions;

namespace ansible_collections.meddev.hardening.plugins.module_utils.MeddevLogScan
{
    public class LogScan
    {
        private const int ChunkBytes = 65536;
        // Invalid bytes become U+FFFD (no exception, no byte order mark emitted).
        private static readonly Encoding Utf8 = new UTF8Encoding(false, false);

        private readonly string[] ids;
        private readonly Regex[] patterns;
        private readonly string since;
        private readonly int maxFindings;
        private readonly int maxLineBytes;
        private readonly List<Dictionary<string, object>> findings = new List<Dictionary<string, object>>();
        private readonly Dictionary<string, long> counts = new Dictionary<string, long>(StringComparer.Ordinal);
        private long files, lines, bytes, malformed, oversized, skippedLoopback, matchedLines;
        // The #Fields: header in force (null before the first one): name -> index, and the name count.
        private Dictionary<string, int> fields;
        private int fieldCount;

        public LogScan(string[] ids, string[] patterns, string since, int maxFindings, int maxLineBytes)
        {
            if (ids == null || patterns == null || ids.Length != patterns.Length)
                throw new ArgumentException("one pattern per indicator id is needed");
            if (maxLineBytes < 1)
                throw new ArgumentOutOfRangeException("maxLineBytes", "max_line_bytes must be at least 1");
            this.ids = ids;
            this.patterns = new Regex[patterns.Length];
            for (int i = 0; i < patterns.Length; i++)
            {
                // ECMAScript: ASCII \s \w \d \b, as re.ASCII in the twin. No IgnoreCase: the text is
                // already lower case and the patterns are written in lower case. Compiled: run for every
                // line. (ECMAScript combines only with IgnoreCase, Multiline and Compiled: dotnet-api-docs
                // xml/System.Text.RegularExpressions/RegexOptions.xml.)
                this.patterns[i] = new Regex(patterns[i], RegexOptions.ECMAScript | RegexOptions.Compiled);
            }
            this.since = since == null ? "" : since;
            this.maxFindings = maxFindings;
            this.maxLineBytes = maxLineBytes;
        }

        // The module's state: findings, counts, stats, truncated.
        public Dictionary<string, object> Result()
        {
            Dictionary<string, long> stats = new Dictionary<string, long>();
            stats.Add("files", files);
            stats.Add("lines", lines);
            stats.Add("bytes", bytes);
            stats.Add("malformed", malformed);
            stats.Add("oversized", oversized);
            stats.Add("skipped_loopback", skippedLoopback);
            stats.Add("matched_lines", matchedLines);
            Dictionary<string, object> result = new Dictionary<string, object>();
            result.Add("findings", findings);
            result.Add("counts", counts);
            result.Add("stats", stats);
            result.Add("truncated", matchedLines > findings.Count);
            return result;
        }

        // One log; path is reported as given. Memory: one chunk plus at most max_line_bytes.
        public void ScanFile(string path)
        {
            files++;
            fields = null;
            fieldCount = 0;
            // FileShare.ReadWrite | Delete: http.sys keeps today's log open for writing, so a
            // reader that does not share write access fails with a sharing violation.
            using (FileStream stream = new FileStream(path, FileMode.Open, FileAccess.Read,
                FileShare.ReadWrite | FileShare.Delete, ChunkBytes))
            {
                byte[] chunk = new byte[ChunkBytes];
                byte[] line = new byte[Math.Min(maxLineBytes, 4096)];
                int length = 0;
                bool tooLong = false;
                long number = 0;
                int read;
                while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
                {
                    bytes += read;
                    int start = 0;
                    while (start < read)
                    {
                        int newline = Array.IndexOf(chunk, (byte)'\n', start, read - start);
                        int count = (newline < 0 ? read : newline) - start;
                        // Once a line is too long, the rest of it up to its LF is skipped, never kept.
                        if (!tooLong && count > maxLineBytes - length)
                        {
                            tooLong = true;
                        }
                        else if (!tooLong)
                        {
                            line = Append(line, length, chunk, start, count);
                            length += count;
                        }
                        if (newline < 0)
                            break;
                        number++;
                        EndLine(path, number, line, length, tooLong);
                        length = 0;
                        tooLong = false;
                        start = newline + 1;
                    }
                }
                if (length > 0 || tooLong)
                {
                    number++;
                    EndLine(path, number, line, length, tooLong);
                }
            }
        }

        private byte[] Append(byte[] line, int length, byte[] chunk, int start, int count)
        {
            if (length + count > line.Length)
            {
                int size = line.Length > maxLineBytes / 2 ? maxLineBytes : Math.Max(line.Length * 2, length + count);
                byte[] larger = new byte[size];
                Buffer.BlockCopy(line, 0, larger, 0, length);
                line = larger;
            }
            Buffer.BlockCopy(chunk, start, line, length, count);
            return line;
        }

        private void EndLine(string path, long number, byte[] line, int length, bool tooLong)
        {
            if (tooLong)
            {
                oversized++;
                return;
            }
            lines++;
            int offset = 0;
            if (number == 1 && length >= 3 && line[0] == 0xEF && line[1] == 0xBB && line[2] == 0xBF)
                offset = 3;  // UTF-8 byte order mark
            while (length > offset && line[length - 1] == (byte)'\r')
                length--;
            string text = Utf8.GetString(line, offset, length - offset);
            if (text.Length == 0)
                return;
            if (text[0] == '#')
            {
                if (text.StartsWith("#Fields:", StringComparison.Ordinal))
                    ReadHeader(text.Substring(8));
                return;
            }
            DataLine(path, number, text);
        }

        private void ReadHeader(string names)
        {
            string[] parts = names.Split(new char[] { ' ' }, StringSplitOptions.RemoveEmptyEntries);
            fields = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < parts.Length; i++)
                fields[parts[i]] = i;
            fieldCount = parts.Length;
        }

        private string Field(string[] values, string name)
        {
            int index;
            return fields.TryGetValue(name, out index) ? values[index] : "-";
        }

        private void DataLine(string path, long number, string text)
        {
            string[] values = text.Split(' ');
            if (fields == null || values.Length != fieldCount)
            {
                malformed++;
                return;
            }
            string client = Field(values, "c-ip");
            if (client.StartsWith("127.", StringComparison.Ordinal) || client == "::1" || client == "[::1]")
            {
                skippedLoopback++;
                return;
            }
            string when = Field(values, "date") + "T" + Field(values, "time") + "Z";
            if (since.Length > 0 && string.CompareOrdinal(when, since) < 0)
                return;
            string method = Field(values, "cs-method");
            string stem = Field(values, "cs-uri-stem");
            string query = Field(values, "cs-uri-query");
            string request = RequestText(method, stem, query);
            List<string> matched = new List<string>();
            for (int i = 0; i < patterns.Length; i++)
            {
                if (patterns[i].IsMatch(request))
                    matched.Add(ids[i]);
            }
            if (matched.Count == 0)
                return;
            foreach (string id in matched)
            {
                long seen;
                counts.TryGetValue(id, out seen);
                counts[id] = seen + 1;
            }
            matchedLines++;
            if (findings.Count >= maxFindings)
                return;
            Dictionary<string, object> finding = new Dictionary<string, object>();
            finding.Add("file", path);
            finding.Add("line", number);
            finding.Add("time", when);
            finding.Add("client_ip", client);
            finding.Add("method", method);
            finding.Add("uri", stem);
            finding.Add("query", query);
            finding.Add("status", Field(values, "sc-status"));
            finding.Add("user_agent", Field(values, "cs(User-Agent)"));
            finding.Add("indicator", matched[0]);
            finding.Add("indicators", matched.ToArray());
            findings.Add(finding);
        }

        // METHOD stem?query, percent-decoded twice, A-Z lower-cased (iis_logs.request_text).
        public static string RequestText(string method, string stem, string query)
        {
            string text = method + " " + stem;
            if (!string.IsNullOrEmpty(query) && query != "-")
                text = text + "?" + query;
            text = UnquotePlus(UnquotePlus(text));
            char[] chars = text.ToCharArray();
            for (int i = 0; i < chars.Length; i++)
            {
                if (chars[i] >= 'A' && chars[i] <= 'Z')
                    chars[i] = (char)(chars[i] + 32);
            }
            return new string(chars);
        }

        // Python's urllib.parse.unquote_plus: '+' is a space; in each run of ASCII characters the
        // %XX escapes become bytes and the run is decoded as UTF-8; other characters stay as they are.
        // (Uri.UnescapeDataString differs: it leaves escapes of invalid UTF-8 undecoded.)
        public static string UnquotePlus(string text)
        {
            text = text.Replace('+', ' ');
            if (text.IndexOf('%') < 0)
                return text;
            StringBuilder result = new StringBuilder(text.Length);
            byte[] run = new byte[text.Length];
            int size = 0;
            int i = 0;
            while (i < text.Length)
            {
                char c = text[i];
                if (c > (char)127)
                {
                    size = Flush(result, run, size);
                    result.Append(c);
                    i++;
                }
                else if (c == '%' && i + 2 < text.Length && HexValue(text[i + 1]) >= 0 && HexValue(text[i + 2]) >= 0)
                {
                    run[size++] = (byte)(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2]));
                    i += 3;
                }
                else
                {
                    run[size++] = (byte)c;
                    i++;
                }
            }
            Flush(result, run, size);
            return result.ToString();
        }

        private static int Flush(StringBuilder result, byte[] run, int size)
        {
            if (size > 0)
                result.Append(Utf8.GetString(run, 0, size));
            return 0;
        }

        private static int HexValue(char c)
        {
            if (c >= '0' && c <= '9')
                return c - '0';
            if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
            if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
            return -1;
        }
    }
}
