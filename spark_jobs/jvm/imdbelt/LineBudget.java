package imdbelt;

import org.apache.spark.sql.api.java.UDF2;

/**
 * May this task's pass 1 carry one more line, of this many bytes, to the revisit? True while the
 * task's carried lines stay within the budget; false from the first line past it to the task's
 * end. Pass 1 collects the lines it refuses within the budget, so the quarantine is built from
 * them without reading the file again; a file past it is read again, as before.
 *
 * <p>Stateful, like {@link KeyOrderCheck}: one instance per task, evaluated once per refused row,
 * in a projection below the observation that collects the lines.
 *
 * <p>Arguments: the line's length in bytes, the task's budget in bytes.
 */
public final class LineBudget implements UDF2<Integer, Long, Boolean> {
  private static final long serialVersionUID = 1L;

  private transient long spent;
  private transient boolean exhausted;

  @Override
  public Boolean call(Integer bytes, Long budget) {
    long needed = bytes == null ? 0 : bytes;
    if (!exhausted && spent + needed <= budget) {
      spent += needed;
      return Boolean.TRUE;
    }
    exhausted = true;
    return Boolean.FALSE;
  }
}
