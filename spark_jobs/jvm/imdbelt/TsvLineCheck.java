package imdbelt;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.apache.spark.sql.api.java.UDF2;

/**
 * Does a line of an IMDb TSV certainly pass the cleaning job's line and field checks? One pass
 * over its bytes, where Spark expressions scan the line three times and run a pattern per field.
 *
 * <p>A shortcut, not a rule: {@code true} only for a line every check accepts; any other line
 * (false) goes through the job's own checks, which name its reason. The rules come from the
 * catalogue, as a spec the job derives ({@code spark_jobs/line_check.py}), passed as the second
 * argument (a literal: parsed once per task). Ranges and missing_title stay in Spark.
 *
 * <p>Spec: {@code <max bytes or ->;<field>;<field>...}, one field per column, each an optional
 * {@code !} (required: {@code \N} refused) and a kind with its {@code :}-separated arguments:
 * {@code s[:c]} text (no C0 control character but {@code c}, a code), {@code i:<prefix>:<digits>}
 * id, {@code l:<prefix>:<digits>:<separator code>} list of ids, {@code n:<digits>} integer of
 * at most that many digits, {@code d:<integer digits>:<scale>} decimal, {@code u:<min>:<max>}
 * digits only, {@code b} 0 or 1, {@code j} a JSON array of strings without escapes or spaces.
 */
public final class TsvLineCheck implements UDF2<byte[], byte[], Boolean> {
  private static final long serialVersionUID = 1L;

  /** The last spec seen and its parse; replaced whole, so a racing task sees one or the other. */
  private transient volatile Parsed parsed;

  @Override
  public Boolean call(byte[] line, byte[] spec) {
    if (line == null || spec == null) {
      return Boolean.FALSE;
    }
    Parsed p = parsed;
    if (p == null || (p.key != spec && !Arrays.equals(p.key, spec))) {
      p = new Parsed(spec, Spec.parse(new String(spec, StandardCharsets.US_ASCII)));
      parsed = p;
    }
    return p.spec.accepts(line) ? Boolean.TRUE : Boolean.FALSE;
  }

  private static final class Parsed {
    final byte[] key;
    final Spec spec;

    Parsed(byte[] key, Spec spec) {
      this.key = key;
      this.spec = spec;
    }
  }

  /** The parsed rules of one input. */
  static final class Spec {
    final int maxBytes;
    final Field[] fields;

    Spec(int maxBytes, Field[] fields) {
      this.maxBytes = maxBytes;
      this.fields = fields;
    }

    static Spec parse(String text) {
      String[] parts = text.split(";", -1);
      int max = parts[0].equals("-") ? -1 : Integer.parseInt(parts[0]);
      Field[] fields = new Field[parts.length - 1];
      for (int i = 1; i < parts.length; i++) {
        fields[i - 1] = Field.parse(parts[i]);
      }
      return new Spec(max, fields);
    }

    boolean accepts(byte[] b) {
      int n = b.length;
      if (maxBytes >= 0 && n > maxBytes) {
        return false;
      }
      if (!wellFormedUtf8(b, n)) {
        return false;
      }
      int end = n > 0 && b[n - 1] == '\r' ? n - 1 : n; // a CRLF line end is not data
      int start = 0;
      int f = 0;
      for (int i = 0; i <= end; i++) {
        if (i == end || b[i] == '\t') {
          if (f == fields.length || !fields[f].accepts(b, start, i)) {
            return false;
          }
          f++;
          start = i + 1;
        }
      }
      return f == fields.length;
    }
  }

  /**
   * Well-formed UTF-8 (the Unicode standard's table 3-7: no overlong form, no surrogate, nothing
   * above U+10FFFF) holding no U+FFFD, the mark of bytes a decoder lost upstream.
   */
  static boolean wellFormedUtf8(byte[] b, int n) {
    int i = 0;
    while (i < n) {
      int c = b[i] & 0xff;
      if (c < 0x80) {
        i++;
        continue;
      }
      int len;
      int lo = 0x80;
      int hi = 0xbf;
      if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
      } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0) {
          lo = 0xa0;
        } else if (c == 0xed) {
          hi = 0x9f;
        }
      } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0) {
          lo = 0x90;
        } else if (c == 0xf4) {
          hi = 0x8f;
        }
      } else {
        return false;
      }
      if (i + len > n) {
        return false;
      }
      int c1 = b[i + 1] & 0xff;
      if (c1 < lo || c1 > hi) {
        return false;
      }
      for (int k = 2; k < len; k++) {
        if ((b[i + k] & 0xc0) != 0x80) {
          return false;
        }
      }
      if (c == 0xef && c1 == 0xbf && (b[i + 2] & 0xff) == 0xbd) {
        return false;
      }
      i += len;
    }
    return true;
  }

  /** One column's rule. */
  static final class Field {
    final boolean required;
    final char kind;
    final byte[] prefix;
    final int a;
    final int b;

    Field(boolean required, char kind, byte[] prefix, int a, int b) {
      this.required = required;
      this.kind = kind;
      this.prefix = prefix;
      this.a = a;
      this.b = b;
    }

    static Field parse(String token) {
      boolean required = token.startsWith("!");
      String[] args = (required ? token.substring(1) : token).split(":", -1);
      char kind = args[0].charAt(0);
      if (args[0].length() != 1) {
        throw new IllegalArgumentException("field spec " + token);
      }
      switch (kind) {
        case 's':
          return new Field(required, kind, null, args.length > 1 ? Integer.parseInt(args[1]) : -1, 0);
        case 'i':
          return new Field(required, kind, ascii(args[1]), Integer.parseInt(args[2]), 0);
        case 'l':
          return new Field(
              required, kind, ascii(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]));
        case 'n':
          return new Field(required, kind, null, Integer.parseInt(args[1]), 0);
        case 'd':
        case 'u':
          return new Field(required, kind, null, Integer.parseInt(args[1]), Integer.parseInt(args[2]));
        case 'b':
        case 'j':
          return new Field(required, kind, null, 0, 0);
        default:
          throw new IllegalArgumentException("field spec " + token);
      }
    }

    private static byte[] ascii(String s) {
      return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** The field's bytes [s, e): true when every check of its column passes. */
    boolean accepts(byte[] v, int s, int e) {
      if (e - s == 2 && v[s] == '\\' && v[s + 1] == 'N') {
        return !required; // null: no field check refuses it, but a key is never null
      }
      switch (kind) {
        case 's':
          for (int i = s; i < e; i++) {
            if (v[i] >= 0 && v[i] < 0x20 && v[i] != a) {
              return false;
            }
          }
          return true;
        case 'i':
          return id(v, s, e);
        case 'l':
          int start = s;
          for (int i = s; i <= e; i++) {
            if (i == e || v[i] == b) {
              if (!id(v, start, i)) {
                return false;
              }
              start = i + 1;
            }
          }
          return true;
        case 'n':
          return digits(v, s < e && v[s] == '-' ? s + 1 : s, e, 1, a);
        case 'd':
          int from = s < e && v[s] == '-' ? s + 1 : s;
          int dot = from;
          while (dot < e && v[dot] != '.') {
            dot++;
          }
          return digits(v, from, dot, 1, a) && (dot == e || digits(v, dot + 1, e, 1, b));
        case 'u':
          return digits(v, s, e, a, b);
        case 'b':
          return e - s == 1 && (v[s] == '0' || v[s] == '1');
        case 'j':
          return plainJsonArray(v, s, e);
        default:
          return false;
      }
    }

    private boolean id(byte[] v, int s, int e) {
      int p = prefix.length;
      if (e - s < p) {
        return false;
      }
      for (int i = 0; i < p; i++) {
        if (v[s + i] != prefix[i]) {
          return false;
        }
      }
      return digits(v, s + p, e, a, Integer.MAX_VALUE);
    }

    private static boolean digits(byte[] v, int s, int e, int min, int max) {
      int n = e - s;
      if (n < min || n > max) {
        return false;
      }
      for (int i = s; i < e; i++) {
        if (v[i] < '0' || v[i] > '9') {
          return false;
        }
      }
      return true;
    }

    /** {@code []} or {@code ["..","..."]}: strings without a quote, a backslash or a C0 character. */
    private static boolean plainJsonArray(byte[] v, int s, int e) {
      if (e - s < 2 || v[s] != '[' || v[e - 1] != ']') {
        return false;
      }
      int last = e - 1;
      int i = s + 1;
      if (i == last) {
        return true;
      }
      while (true) {
        if (v[i] != '"') {
          return false;
        }
        i++;
        while (i < last && v[i] != '"') {
          if (v[i] == '\\' || (v[i] >= 0 && v[i] < 0x20)) {
            return false;
          }
          i++;
        }
        if (i == last) {
          return false; // the string is not closed before the bracket
        }
        i++;
        if (i == last) {
          return true;
        }
        if (v[i] != ',') {
          return false;
        }
        i++;
      }
    }
  }
}
