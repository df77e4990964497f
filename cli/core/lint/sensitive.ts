/** Column names that hold secrets or personal data (used to judge public-read policies and credential columns). */
import type { Column } from '../catalog/model.js';

const SENSITIVE = /(^|_)(password|passwd|pwd|passphrase|secret|token|api_?key|private_?key|ssn|social_security|credit_card|card_number|cvv|iban|salary|email|phone|dob|date_of_birth|birth_?date|address|hash|salt|otp|totp)(_|s?$)/i;

/**
 * By its name, unless it is a boolean: `email_verified` or `default_email` (send by email?) holds a
 * yes or no about the email, never the address. A comment marking it (`pii`) still counts.
 */
export function isSensitiveColumn(c: Column): boolean {
  return (SENSITIVE.test(c.name) && c.type !== 'boolean') || /\b(sensitive|pii|secret|confidential)\b/i.test(c.comment ?? '');
}

/** Columns that hold a credential a user could type (password-like), not already-hashed ones. */
const CREDENTIAL = /(^|_)(password|passwd|pwd|passphrase|secret|api_?key|private_?key|client_secret|pin)$/i;
const HASHED = /(hash|digest|encrypted|hmac|bcrypt|crypt|salt|_enc$)/i;
const TEXT_TYPES = /^(text|character varying|varchar|character|char|bpchar|citext|bytea)\b/;

export function isCredentialColumn(c: Column): boolean {
  return CREDENTIAL.test(c.name) && !HASHED.test(c.name) && TEXT_TYPES.test(c.type) && !c.generated;
}
