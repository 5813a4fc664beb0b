import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, configKeys, loadConfig, loadStackConfig } from '../config';

const root = path.resolve(__dirname, '..');

describe('configuration', () => {
  it('has a default for everything, so a bare environment runs locally', () => {
    const config = loadConfig({});
    assert.equal(config.PORT, 3000);
    assert.equal(config.TEMPORAL_ADDRESS, '127.0.0.1:7233');
    assert.equal(config.TEMPORAL_NAMESPACE, 'default');
    assert.equal(loadStackConfig({}).TEMPORAL_UI_PORT, 8233);
  });

  it('reads and coerces what is set; an empty variable counts as unset', () => {
    const config = loadConfig({ PORT: '8080', LOG_LEVEL: 'debug', TEMPORAL_NAMESPACE: '' });
    assert.equal(config.PORT, 8080);
    assert.equal(config.LOG_LEVEL, 'debug');
    assert.equal(config.TEMPORAL_NAMESPACE, 'default');
  });

  it('names every bad variable and what it expects', () => {
    const bad = {
      PORT: 'eighty',
      DATABASE_URL: 'mysql://x@y/z',
      TEMPORAL_ADDRESS: 'no-port',
      LOG_LEVEL: 'loud',
    };
    assert.throws(
      () => loadConfig(bad),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(err.problems.map((p) => p.key).sort(), Object.keys(bad).sort());
        assert.match(
          err.message,
          /DATABASE_URL: expected a postgres:\/\/ URL; got "mysql:\/\/x@y\/z"/,
        );
        assert.match(err.message, /TEMPORAL_ADDRESS: expected host:port/);
        return true;
      },
    );
    assert.throws(() => loadStackConfig({ TEMPORAL_UI_PORT: '70000' }), /TEMPORAL_UI_PORT/);
  });

  for (const entry of ['api/server.ts', 'workers/main.ts', 'cli/migrate.ts']) {
    it(`${entry} stops at start with a message naming a bad variable`, () => {
      const result = spawnSync(process.execPath, ['--import', 'tsx', entry], {
        cwd: root,
        env: { ...process.env, DATABASE_POOL_MAX: 'lots' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(result.status, 78, result.stderr);
      assert.match(result.stderr, /Invalid configuration:\n\s+DATABASE_POOL_MAX: .*got "lots"/);
    });
  }

  it('the README documents every variable', () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    const missing = configKeys.filter((key) => !readme.includes(`| \`${key}\``));
    assert.deepEqual(missing, []);
  });
});
