/**
 * Command lines printed for a user to paste into a POSIX shell (reports, mails, the CLI), and
 * Markdown code that shows them exactly. Every argument is quoted so that a workload file named
 * `a';touch PWNED;'.json` is one argument, never code; `sh -c` on a printed line (and on a
 * mail's backslash-continued lines) passes exactly the intended argv.
 */

const SAFE = /^[A-Za-z0-9_./:=,@%+-]+$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;

/**
 * One argument for a POSIX shell: as is when it holds only safe characters, else single-quoted
 * ('\'' for a quote). Control characters (a newline in a file name) cannot be shown on one line
 * inside single quotes, so such an argument becomes "$(printf '...')" with octal escapes; one
 * that ends in a newline (command substitution would drop it) stays single-quoted over lines.
 */
export function sh_quote(arg: string): string {
  if (arg !== '' && SAFE.test(arg)) return arg;
  if (CONTROL.test(arg) && !arg.endsWith('\n')) {
    let format = '';
    for (const ch of arg) {
      const code = ch.charCodeAt(0);
      if (ch === '\\') format += '\\\\';
      else if (ch === '%') format += '%%';
      else if (ch === "'") format += `'\\''`;
      else if (code < 0x20 || code === 0x7f) format += `\\${code.toString(8).padStart(3, '0')}`;
      else format += ch;
    }
    return `"$(printf '${format}')"`;
  }
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** `npx deplab <args...>`, each argument quoted. */
export function command_line(args: readonly string[]): string {
  return ['npx deplab', ...args.map(sh_quote)].join(' ');
}

/**
 * The words of a command line as written (quotes kept), split at unquoted spaces: what
 * sh_quote and command_line produce (safe text, '...', \', "$(printf '...')").
 */
export function shell_words(command: string): string[] {
  const words: string[] = [];
  let word = '', quote: "'" | '"' | null = null, subst = 0, inner_single = false;
  for (let i = 0; i < command.length; i++) {
    const c = command[i];
    if (quote === "'") { word += c; if (c === "'") quote = null; continue; }
    if (quote === '"') {
      word += c;
      if (inner_single) { if (c === "'") inner_single = false; continue; }
      if (c === "'" && subst > 0) inner_single = true;
      else if (c === '$' && command[i + 1] === '(') { word += '('; i++; subst++; }
      else if (c === ')' && subst > 0) subst--;
      else if (c === '\\' && i + 1 < command.length) { word += command[++i]; }
      else if (c === '"' && subst === 0) quote = null;
      continue;
    }
    if (c === ' ') { if (word !== '') words.push(word); word = ''; continue; }
    word += c;
    if (c === "'" || c === '"') quote = c;
    else if (c === '\\' && i + 1 < command.length) word += command[++i];
  }
  if (word !== '') words.push(word);
  return words;
}

/** The value of a word made of safe text, '...' and \' (what sh_quote writes for printable text); null for any other form. */
export function plain_word_value(word: string): string | null {
  let out = '';
  for (let i = 0; i < word.length;) {
    const c = word[i];
    if (c === "'") {
      const end = word.indexOf("'", i + 1);
      if (end < 0) return null;
      out += word.slice(i + 1, end);
      i = end + 1;
    } else if (c === '\\') {
      if (i + 1 >= word.length) return null;
      out += word[i + 1];
      i += 2;
    } else if (c === '"' || c === '$' || c === '`') {
      return null;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/* ------------------------------------------------------------------------------------------ */
/* Markdown                                                                                     */

/** Inline Markdown code showing `text` exactly: a fence of more backticks than any run in it, padded where it starts or ends with one. */
export function md_code(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') || (text.startsWith(' ') && text.endsWith(' ') && text.trim() !== '') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** md_code for a GFM table cell: a `|` is escaped (\|), which GFM removes again inside code. */
export function md_cell_code(text: string): string {
  return md_code(text).replace(/\|/g, '\\|');
}
