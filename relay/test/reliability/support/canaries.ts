import { createHash } from 'node:crypto';

/**
 * The ways a secret could show up: as is, base64 (at every alignment inside a longer text), base64url, hex,
 * and the bytes it stands for when it is base64url.
 */
export function encodings(secret: string): string[] {
  const out = new Set<string>([secret]);
  const utf8 = Buffer.from(secret, 'utf8');
  out.add(utf8.toString('base64').replace(/=+$/, ''));
  out.add(utf8.toString('base64url'));
  out.add(utf8.toString('hex'));
  if (/^[A-Za-z0-9_-]+$/.test(secret)) {
    const raw = Buffer.from(secret, 'base64url');
    if (raw.length >= 16) {
      out.add(raw.toString('hex'));
      out.add(raw.toString('base64').replace(/=+$/, ''));
    }
  }
  // Inside a longer base64 text the secret can sit at any of three byte alignments.
  for (let pad = 0; pad < 3; pad++) {
    const encoded = Buffer.concat([Buffer.alloc(pad), utf8]).toString('base64');
    out.add(encoded.slice(pad === 0 ? 0 : 4, encoded.length - 4));
  }
  return [...out].filter((s) => s.length >= 12);
}

export interface CanaryHit {
  canary: string;
  where: string;
}

/** Scans texts for secrets (in every encoding); returns where each one was found. */
export class CanaryScanner {
  private readonly needles: { name: string; value: string }[] = [];

  add(name: string, secret: string): void {
    for (const value of encodings(secret)) {
      this.needles.push({ name, value });
    }
  }

  scan(where: string, text: string): CanaryHit[] {
    const hits: CanaryHit[] = [];
    for (const { name, value } of this.needles) {
      if (text.includes(value)) {
        hits.push({ canary: name, where });
      }
    }
    return hits;
  }

  get size(): number {
    return this.needles.length;
  }
}

export const sha256Hex = (s: string) => createHash('sha256').update(s).digest('hex');
