package imdbelt;

import java.util.Arrays;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.api.java.UDF6;

/**
 * Where is this row's natural key against the previous row's, in this task? The cleaning job's
 * first pass observes the answers. When no row of any task is {@link #UNPROVEN}, every task's
 * keys ascend with each repeat right after its first row, so the rows answered {@link #REPEAT}
 * name every repeated key (every key's rows are in one task: the job partitions by the key), and
 * the file needs no key check.
 *
 * <p>IMDb sorts its dumps by key: ids by their number (shorter first, then byte order), then the
 * ordering. A delivery in another order is answered {@link #UNPROVEN} and gets the full key check;
 * so does a task with more repeats than the cap (by count, or by the bytes of their lines), which
 * keeps what pass 1 collects small. One instance per task (Spark deserialises the plan for each
 * task), used by that task's thread alone. The job evaluates it once per row, in a projection
 * below an observation, in the task's order: a second call on the same row would answer REPEAT.
 *
 * <p>A {@link #REPEAT} also comes after the previous row in the file (a larger line number), so
 * the first row of each repeated key is its first line: the row IMDb's dedup keeps, and pass 1
 * need not write the repeats at all.
 *
 * <p>The answer is null for {@link #AFTER} (almost every row: nothing to convert), else a row of
 * the answer and, on a key's first REPEAT, the previous row's line number and line: that key's
 * first row. Pass 1 collects them with the repeats' own lines, so the dedup and the quarantine
 * are built from these lines without reading the file again.
 *
 * <p>Arguments: the key's text column as bytes, its integer column (null for a one-column key),
 * the row's line number, its line as bytes, the most REPEAT answers this task may give, and the
 * most bytes of lines they may carry. The two byte arrays are kept without a copy: each comes
 * from a cast of a string, which copies the bytes out of Spark's row into a new array per call.
 */
public final class KeyOrderCheck implements UDF6<byte[], Long, Long, byte[], Integer, Long, Row> {
  private static final long serialVersionUID = 1L;

  /** The task's first row, or a key strictly after the previous row's. */
  public static final int AFTER = 0;
  /** The same key as the previous row's, on a later line. */
  public static final int REPEAT = 1;
  /** Before the previous row's key, a null, or a repeat past the cap: the full check decides. */
  public static final int UNPROVEN = 2;

  private static final Row LATER_REPEAT = RowFactory.create(REPEAT, null, null);
  private static final Row NOT_PROVEN = RowFactory.create(UNPROVEN, null, null);

  private transient boolean started;
  private transient byte[] previousText;
  private transient Long previousNumber;
  private transient long previousLine;
  private transient byte[] previousValue;
  private transient int previousAnswer;
  private transient int repeats;
  private transient long carried;

  @Override
  public Row call(byte[] text, Long number, Long line, byte[] value, Integer maxRepeats, Long maxBytes) {
    int answer = started ? compare(text, number) : AFTER;
    if (answer == REPEAT && (line == null || line <= previousLine)) {
      answer = UNPROVEN; // one task reads a file in line order: never seen, but never assumed
    }
    Row result = null;
    if (answer == REPEAT) {
      boolean first = previousAnswer != REPEAT; // the previous row is this key's first row
      long bytes = length(value) + (first ? length(previousValue) : 0);
      if (++repeats > maxRepeats || carried + bytes > maxBytes) {
        answer = UNPROVEN;
        carried = Long.MAX_VALUE / 2; // past the cap once, past it for the rest of the task
      } else {
        carried += bytes;
        result = first ? RowFactory.create(REPEAT, previousLine, previousValue) : LATER_REPEAT;
      }
    }
    if (answer == UNPROVEN) {
      result = NOT_PROVEN;
    }
    started = true;
    previousText = text; // kept as is: a cast made both arrays for this call (see above)
    previousNumber = number;
    previousLine = line == null ? Long.MAX_VALUE : line;
    previousValue = value;
    previousAnswer = answer;
    return result;
  }

  private static long length(byte[] value) {
    return value == null ? 0 : value.length;
  }

  private int compare(byte[] text, Long number) {
    if (text == null || previousText == null) {
      return UNPROVEN; // a written key is never null: the full check decides
    }
    int byText = shortlex(text, previousText);
    if (byText != 0) {
      return byText > 0 ? AFTER : UNPROVEN;
    }
    if (number == null && previousNumber == null) {
      return REPEAT; // a one-column key
    }
    if (number == null || previousNumber == null) {
      return UNPROVEN;
    }
    int byNumber = Long.compare(number, previousNumber);
    return byNumber > 0 ? AFTER : byNumber == 0 ? REPEAT : UNPROVEN;
  }

  /** Shorter first, then unsigned byte order: numeric order for ids of one prefix. */
  static int shortlex(byte[] a, byte[] b) {
    if (a.length != b.length) {
      return Integer.compare(a.length, b.length);
    }
    return Arrays.compareUnsigned(a, b);
  }
}
