package imdbelt;

import java.util.Arrays;
import org.apache.spark.sql.api.java.UDF2;

/**
 * Is this row's natural key NOT strictly after the previous row's, in this task? The cleaning
 * job's first pass counts these rows: none means no two rows of the task share a key, so the
 * file needs no key check (every key's rows are in one task: the job partitions by the key).
 *
 * <p>IMDb sorts its dumps by key: ids by their number (shorter first, then byte order), then the
 * ordering. A delivery in another order, or with repeats, is counted here and gets the full key
 * check; this class only proves the common case. One instance per task (Spark deserialises the
 * plan for each task), used by that task's thread alone. The job calls it in one place only, an
 * observation's aggregate, which Spark evaluates once per row in the task's order.
 *
 * <p>Arguments: the key's text column as bytes, and its integer column (null for a one-column key).
 */
public final class KeyOrderCheck implements UDF2<byte[], Long, Boolean> {
  private static final long serialVersionUID = 1L;

  private transient boolean started;
  private transient byte[] previousText;
  private transient Long previousNumber;

  @Override
  public Boolean call(byte[] text, Long number) {
    boolean after = started && isAfter(text, number);
    boolean first = !started;
    started = true;
    previousText = text == null ? null : text.clone(); // Spark may reuse the array
    previousNumber = number;
    return first || after ? Boolean.FALSE : Boolean.TRUE;
  }

  private boolean isAfter(byte[] text, Long number) {
    if (text == null || previousText == null) {
      return false; // a written key is never null: the full check decides
    }
    int byText = shortlex(text, previousText);
    if (byText != 0) {
      return byText > 0;
    }
    if (number == null || previousNumber == null) {
      return false; // one-column key: equal text is a repeat
    }
    return number > previousNumber;
  }

  /** Shorter first, then unsigned byte order: numeric order for ids of one prefix. */
  static int shortlex(byte[] a, byte[] b) {
    if (a.length != b.length) {
      return Integer.compare(a.length, b.length);
    }
    return Arrays.compareUnsigned(a, b);
  }
}
