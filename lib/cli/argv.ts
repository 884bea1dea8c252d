/**
 * The command-line tokenizer, as curl reads a line: long options (`--name value`, `--name=value`),
 * short ones grouped (`-sSL`, `-XPOST`, `-sSo file`), `--` ending the options, and an option's value
 * taken as it is even when it starts with `-` (`-d -x`). It knows the option table only: an unknown
 * option or a missing value is a `UsageError` naming it, in one line.
 */

/** A mistake in the command line: exit 2 with its message. */
export class UsageError extends Error {}

/** One option: its long name, its one-letter form, and whether it takes a value. */
export interface OptionSpec {
  readonly long: string;
  readonly short?: string;
  readonly takesValue?: boolean;
}

/** One option as given, in order; `true` for a flag. */
export interface GivenOption {
  readonly name: string;
  readonly value: string | true;
}

/** The options in the order given, and the other arguments. */
export interface CommandLine {
  readonly options: readonly GivenOption[];
  readonly positionals: readonly string[];
}

/** Splits `argv` into options and positionals against `specs`. */
export function tokenize(argv: readonly string[], specs: readonly OptionSpec[]): CommandLine {
  const options: GivenOption[] = [];
  const positionals: string[] = [];
  const byLong = new Map(specs.map((s) => [s.long, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  let i = 0;
  const valueFor = (shown: string): string => {
    if (i + 1 >= argv.length) throw new UsageError(`option ${shown} needs a value`);
    return argv[++i]!;
  };
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq === -1 ? undefined : eq);
      const spec = byLong.get(name);
      if (!spec) throw new UsageError(`unknown option --${name}`);
      if (!spec.takesValue && eq !== -1) throw new UsageError(`option --${name} takes no value`);
      options.push({ name, value: spec.takesValue ? (eq === -1 ? valueFor(`--${name}`) : arg.slice(eq + 1)) : true });
    } else if (arg.startsWith('-') && arg.length > 1) {
      for (let c = 1; c < arg.length; c++) {
        const letter = arg[c]!;
        const spec = byShort.get(letter);
        if (!spec) throw new UsageError(`unknown option -${letter}${arg.length > 2 ? ` (in ${arg})` : ''}`);
        if (!spec.takesValue) {
          options.push({ name: spec.long, value: true });
          continue;
        }
        // `-XPOST`, `-sSo file`: the rest of the group is the value, or else the next argument.
        const rest = arg.slice(c + 1);
        options.push({ name: spec.long, value: rest || valueFor(`-${letter}`) });
        break;
      }
    } else {
      positionals.push(arg);
    }
  }
  return { options, positionals };
}

/** The last value given for any of `names`, or undefined. */
export function lastValue(line: CommandLine, ...names: string[]): string | true | undefined {
  let found: string | true | undefined;
  for (const o of line.options) if (names.includes(o.name)) found = o.value;
  return found;
}

/** The name among `names` given last, or null (so `-L --no-location` means no). */
export function lastOf(line: CommandLine, ...names: string[]): string | null {
  let found: string | null = null;
  for (const o of line.options) if (names.includes(o.name)) found = o.name;
  return found;
}

/** Every value given for any of `names`, in order, with the option it came with. */
export function valuesOf(line: CommandLine, ...names: string[]): GivenOption[] {
  return line.options.filter((o) => names.includes(o.name));
}

/** Whether `name` was given at all. */
export function has(line: CommandLine, name: string): boolean {
  return line.options.some((o) => o.name === name);
}
