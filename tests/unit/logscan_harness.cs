// Copyright: meddev.hardening contributors
// GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
//
// Test driver for plugins/module_utils/MeddevLogScan.cs under mono (tests/unit/test_logscan_csharp.py):
//   logscan_harness.exe INDICATORS_TSV SINCE MAX_FINDINGS MAX_LINE_BYTES FILE...
// INDICATORS_TSV holds one "id<TAB>pattern" per line (UTF-8). Prints LogScan.Result() as JSON,
// every non-ASCII character escaped, so Python can compare it with the twin's result.

using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using ansible_collections.meddev.hardening.plugins.module_utils.MeddevLogScan;

public static class LogScanHarness
{
    public static int Main(string[] args)
    {
        List<string> ids = new List<string>();
        List<string> patterns = new List<string>();
        foreach (string line in File.ReadAllLines(args[0], Encoding.UTF8))
        {
            if (line.Length == 0)
                continue;
            string[] parts = line.Split(new char[] { '\t' }, 2);
            ids.Add(parts[0]);
            patterns.Add(parts[1]);
        }
        LogScan scan = new LogScan(ids.ToArray(), patterns.ToArray(), args[1],
            int.Parse(args[2], CultureInfo.InvariantCulture), int.Parse(args[3], CultureInfo.InvariantCulture));
        for (int i = 4; i < args.Length; i++)
            scan.ScanFile(args[i]);
        StringBuilder json = new StringBuilder();
        Write(json, scan.Result());
        Console.Out.Write(json.ToString());
        return 0;
    }

    private static void Write(StringBuilder json, object value)
    {
        if (value == null)
        {
            json.Append("null");
        }
        else if (value is string)
        {
            json.Append('"');
            foreach (char c in (string)value)
            {
                if (c == '"' || c == '\\')
                    json.Append('\\').Append(c);
                else if (c < ' ' || c > '~')
                    json.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                else
                    json.Append(c);
            }
            json.Append('"');
        }
        else if (value is bool)
        {
            json.Append((bool)value ? "true" : "false");
        }
        else if (value is int || value is long)
        {
            json.Append(Convert.ToString(value, CultureInfo.InvariantCulture));
        }
        else if (value is IDictionary)
        {
            json.Append('{');
            bool first = true;
            foreach (DictionaryEntry entry in (IDictionary)value)
            {
                if (!first)
                    json.Append(',');
                first = false;
                Write(json, (string)entry.Key);
                json.Append(':');
                Write(json, entry.Value);
            }
            json.Append('}');
        }
        else
        {
            json.Append('[');
            bool first = true;
            foreach (object item in (IEnumerable)value)
            {
                if (!first)
                    json.Append(',');
                first = false;
                Write(json, item);
            }
            json.Append(']');
        }
    }
}
