/**
 * pgkeeper's version, for `pgkeeper --version`: package.json's, written here rather than imported
 * (a JSON import needs Node 20.10+, and warns before 20.18.1); test/cli.test.ts checks they agree.
 */
export const PGKEEPER_VERSION = '0.1.0';
