import { validation } from "../shared/errors";

/** 1-255 characters (docs/api.md, "File names"); counted after NFC, in UTF-16 units like the schemas. */
export const MAX_FILE_NAME_LENGTH = 255;

/**
 * Characters no file name may hold. Names are shown back to people and sent in
 * `Content-Disposition`, so anything that can make a name read as something else is refused:
 * - C0 and C1 controls and DEL (terminal escapes, header splitting);
 * - bidi controls: U+202A-U+202E embeddings/overrides, U+2066-U+2069 isolates, U+200E/U+200F
 *   marks, U+061C (`invoice\u202Efdp.exe` displays as `invoiceexe.pdf`);
 * - path separators `/` `\` and the Windows-reserved `<>:"|?*`, so a name saved by a client is a
 *   name, never a path.
 * Letters of any script, CJK and emoji are allowed.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is this rule's purpose
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c/\\<>:"|?*]/u;

/**
 * The one file-name rule, for every place a name enters (upload request, rename, storage module
 * upload, resumable uploads): returns the name NFC-normalized, or throws 400 VALIDATION_ERROR
 * naming `field`. Also refused: empty, `.`/`..`, leading or trailing whitespace, over 255.
 */
export function checkFileName(name: string, field: string): string {
  const nfc = name.normalize("NFC");
  const why =
    nfc.length === 0
      ? "must not be empty"
      : nfc.length > MAX_FILE_NAME_LENGTH
        ? `must be at most ${MAX_FILE_NAME_LENGTH} characters`
        : FORBIDDEN.test(nfc)
          ? 'must not contain control or bidi characters, path separators or <>:"|?*'
          : nfc.trim() !== nfc
            ? "must not start or end with whitespace"
            : nfc === "." || nfc === ".."
              ? "must not be . or .."
              : null;
  if (why) throw validation(`${field} ${why}`, { field });
  return nfc;
}
