/** An age key pair made with age-keygen for one test: the identity file stays in a temporary directory. */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { tempDir } from './temp-dirs.js';

export function ageKeyPair(): { recipient: string; identityFile: string } {
  const identityFile = path.join(tempDir('age'), 'identity.txt');
  execFileSync('age-keygen', ['-o', identityFile], { stdio: 'ignore' });
  const recipient = execFileSync('age-keygen', ['-y', identityFile], { encoding: 'utf8' }).trim();
  return { recipient, identityFile };
}
