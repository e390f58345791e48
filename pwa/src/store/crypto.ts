// AES-GCM encryption of every record the app keeps in IndexedDB.
// One 256-bit key per device, generated with extractable=false so script can
// use it but never read it out; each record gets a fresh random 12-byte IV and
// is bound to its place in the database through the additional data (AAD), so
// a record copied to another key or store fails to decrypt.

export interface EncRecord {
  /** 12 random bytes, never reused with the same key. */
  iv: Uint8Array;
  /** Ciphertext with the 16-byte GCM tag appended. */
  ct: ArrayBuffer;
}

export const IV_BYTES = 12;

export async function generateKey(): Promise<CryptoKey> {
  return crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export async function encryptBytes(key: CryptoKey, plain: Uint8Array, aad: string): Promise<EncRecord> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const ct = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: enc.encode(aad) },
    key,
    plain as Uint8Array<ArrayBuffer>,
  );
  return { iv, ct };
}

export async function decryptBytes(key: CryptoKey, rec: EncRecord, aad: string): Promise<Uint8Array> {
  const plain = await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: rec.iv as Uint8Array<ArrayBuffer>, additionalData: enc.encode(aad) },
    key,
    rec.ct,
  );
  return new Uint8Array(plain);
}

export async function encryptJson(key: CryptoKey, value: unknown, aad: string): Promise<EncRecord> {
  return encryptBytes(key, enc.encode(JSON.stringify(value)), aad);
}

export async function decryptJson<T>(key: CryptoKey, rec: EncRecord, aad: string): Promise<T> {
  return JSON.parse(dec.decode(await decryptBytes(key, rec, aad))) as T;
}
