import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { findTemporalCli, temporalCliVersion } from '../stack/temporal-cli';

describe('finding the Temporal CLI', () => {
  const saved = { PATH: process.env.PATH, XDG_CACHE_HOME: process.env.XDG_CACHE_HOME };
  const emptyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loyalty-ops-cli-'));
  afterEach(() => {
    process.env.PATH = saved.PATH;
    process.env.XDG_CACHE_HOME = saved.XDG_CACHE_HOME;
  });
  after(() => fs.rmSync(emptyDir, { recursive: true, force: true }));
  const noLog = (): void => {};

  it('uses TEMPORAL_CLI_PATH first, and names it when it is not an executable', async () => {
    const real = process.env.TEMPORAL_CLI_PATH!;
    assert.equal(await findTemporalCli(real, noLog), real);
    await assert.rejects(
      findTemporalCli(path.join(emptyDir, 'missing'), noLog),
      /TEMPORAL_CLI_PATH: '.*missing' is not an executable file/,
    );
  });

  it('then `temporal` on PATH, then the cached build', async () => {
    const bin = path.join(emptyDir, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.symlinkSync(process.env.TEMPORAL_CLI_PATH!, path.join(bin, 'temporal'));
    process.env.PATH = bin;
    assert.equal(await findTemporalCli(undefined, noLog), path.join(bin, 'temporal'));

    const cache = path.join(emptyDir, 'cache');
    const cached = path.join(cache, 'loyalty-ops', `temporal-${temporalCliVersion}`, 'temporal');
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    fs.copyFileSync(process.env.TEMPORAL_CLI_PATH!, cached);
    fs.chmodSync(cached, 0o755);
    process.env.PATH = path.join(emptyDir, 'nothing-here');
    process.env.XDG_CACHE_HOME = cache;
    assert.equal(await findTemporalCli(undefined, noLog), cached);
  });

  it('without the CLI and without Go, says what to do instead', async () => {
    process.env.PATH = path.join(emptyDir, 'nothing-here');
    process.env.XDG_CACHE_HOME = path.join(emptyDir, 'empty-cache');
    await assert.rejects(findTemporalCli(undefined, noLog), (err: Error) => {
      assert.match(err.message, /Go is not installed/);
      assert.match(err.message, /TEMPORAL_CLI_PATH/);
      assert.match(err.message, /docker compose up/);
      return true;
    });
  });
});
