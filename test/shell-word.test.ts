/** Commands suggested in messages must survive being pasted into a shell, whatever the database is called. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { lastArgument, shellWord } from '../common/shell-word.js';

describe('shellWord', () => {
  it('a POSIX shell reads every name back as one unchanged word; plain names stay bare', () => {
    const names = [`adv_ o'q"é`, "it's", 'a b', '$HOME', '`id`', 'x;rm -rf y', 'tab\there', "''", '*', 'new\nline', '-dash'];
    const echoed = execFileSync('sh', ['-c', `printf '%s\\0' ${names.map(shellWord).join(' ')}`], { encoding: 'utf8' });
    assert.deepEqual(echoed.split('\0').slice(0, -1), names);
    for (const plain of ['app', 'app-20261124T020000Z-1a2b3c4d', 'my.db', 'a/b.dump.zst']) assert.equal(shellWord(plain), plain);
  });

  it('a last argument starting with "-" comes after --, so the command does not read it as an option', () => {
    assert.equal(lastArgument('-dash'), '-- -dash');
    assert.equal(lastArgument("-it's"), `-- '-it'\\''s'`);
    assert.equal(lastArgument('app'), 'app');
  });
});
