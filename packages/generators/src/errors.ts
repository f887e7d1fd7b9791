/** Base class of the kit's errors: a message meant for the user, no stack needed. */
export class GeneratorError extends Error {
  override name = "GeneratorError";
}

/** Bad or inconsistent options (an unknown category, a negative count, a missing --repo...). */
export class GeneratorOptionsError extends GeneratorError {
  override name = "GeneratorOptionsError";
}

export interface CategoryCapacity {
  category: string;
  /** Rows this category must deliver for the requested count and distribution. */
  requested: number;
  /** The most unique rows this category can produce with these options. */
  capacity: number;
}

/** --count asks for more unique rows than the generator can produce with these options. */
export class CapacityError extends GeneratorError {
  override name = "CapacityError";
  constructor(
    readonly generator: string,
    readonly requested: number,
    /** The largest --count that works with these options and this distribution. */
    readonly maxCount: number,
    readonly categories: CategoryCapacity[],
    detail?: string,
  ) {
    const short = categories.filter((c) => c.requested > c.capacity);
    super(
      `${generator} can produce at most ${maxCount} unique rows with these options (asked for ${requested})` +
        (short.length ? `: ${short.map((c) => `category "${c.category}" needs ${c.requested} but has ${c.capacity}`).join("; ")}` : "") +
        (detail ? `. ${detail}` : "") +
        `. Lower --count to ${maxCount}, or change the options or --distribution.`,
    );
  }
}
