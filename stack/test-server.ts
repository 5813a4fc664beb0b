/**
 * Finds Temporal's time-skipping test server (`io.temporal:temporal-test-server`, a real in-memory
 * Temporal service whose clock tests can move) for the tests that set a clock:
 * TEMPORAL_TEST_SERVER_PATH, else our cached copy; failing those, fetches the jars from Maven
 * Central with Maven (installed with apt-get when missing and root on Debian, as for promtool)
 * into the cache, outside the repository, and writes beside them the
 * `temporal-test-server` script the TypeScript SDK runs as an `existing-path` executable.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const temporalTestServerVersion = '1.38.0';

function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'loyalty-ops', `temporal-test-server-${temporalTestServerVersion}`);
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

export async function findTemporalTestServer(
  configured: string | undefined,
  log: (message: string) => void,
): Promise<string> {
  if (configured) {
    if (!isExecutable(configured)) {
      throw new Error(`TEMPORAL_TEST_SERVER_PATH: '${configured}' is not an executable file.`);
    }
    return configured;
  }
  const cached = path.join(cacheDir(), 'temporal-test-server');
  if (isExecutable(cached)) return cached;
  await fetchJars(cacheDir(), log);
  return cached;
}

const howToGet = [
  'The time-skipping tests need Temporal’s test server, fetched once from Maven Central. Either:',
  '  - install Java 11+ and Maven (Debian/Ubuntu: `apt-get install default-jdk-headless maven`)',
  `    and run again: it fetches io.temporal:temporal-test-server:${temporalTestServerVersion};`,
  '  - or point TEMPORAL_TEST_SERVER_PATH at an executable that runs',
  '    `io.temporal.testserver.TestServer <port>`.',
].join('\n');

const works = (command: string, args: string[]): boolean => {
  const result = spawnSync(command, args, { stdio: 'ignore' });
  return !result.error && result.status === 0;
};

function pom(): string {
  return `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>loyalty-ops</groupId>
  <artifactId>temporal-test-server-jars</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>io.temporal</groupId>
      <artifactId>temporal-test-server</artifactId>
      <version>${temporalTestServerVersion}</version>
    </dependency>
    <!-- The server logs through SLF4J 1.7 and ships no binding: without one it warns on every start. -->
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-nop</artifactId>
      <version>1.7.36</version>
    </dependency>
  </dependencies>
</project>
`;
}

/**
 * The SDK runs `<script> <port>` (plus any `extraArgs`) and stops the server by killing that
 * process: `exec` makes the JVM that process. Time skipping starts locked, as the SDK expects; it
 * unlocks it while a test sleeps or waits for a result.
 */
function wrapper(dir: string): string {
  return `#!/bin/sh
# Temporal's time-skipping test server ${temporalTestServerVersion} (io.temporal:temporal-test-server), for npm test.
# Usage: temporal-test-server <port> [--enable-time-skipping]
# JAVA_HOME is honoured; TEMPORAL_TEST_SERVER_JAVA_OPTS adds JVM options.
java=java
if [ -n "$JAVA_HOME" ]; then java="$JAVA_HOME/bin/java"; fi
# A small, quickly started JVM: the SDK gives the server 5 seconds to answer.
exec "$java" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto $TEMPORAL_TEST_SERVER_JAVA_OPTS \\
  -cp '${dir}/lib/*' io.temporal.testserver.TestServer "$@"
`;
}

/** Java and Maven, installed with apt-get when missing and running as root on Debian. */
function ensureJavaAndMaven(log: (message: string) => void): void {
  if (works('java', ['-version']) && works('mvn', ['-v'])) return;
  const debianRoot = process.getuid?.() === 0 && fs.existsSync('/etc/debian_version');
  if (!debianRoot) throw new Error(howToGet);
  log('Java or Maven not found: apt-get install default-jdk-headless maven');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update'],
    ['install', '-y', '--no-install-recommends', 'default-jdk-headless', 'maven'],
  ]) {
    const result = spawnSync('apt-get', args, { env, encoding: 'utf8', stdio: 'pipe' });
    if (result.status !== 0) {
      throw new Error(
        `apt-get ${args.join(' ')} failed: ${result.stderr.slice(-500)}\n${howToGet}`,
      );
    }
  }
  if (!works('java', ['-version']) || !works('mvn', ['-v'])) throw new Error(howToGet);
}

async function fetchJars(target: string, log: (message: string) => void): Promise<void> {
  ensureJavaAndMaven(log);
  // Fetch into a private folder, then rename: a concurrent or interrupted fetch never leaves a
  // half-filled folder at the cached path.
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const work = fs.mkdtempSync(path.join(path.dirname(target), 'fetch-'));
  log(
    `fetching Temporal's test server ${temporalTestServerVersion} with Maven (first run only) into ${target}`,
  );
  const started = Date.now();
  try {
    fs.writeFileSync(path.join(work, 'pom.xml'), pom());
    const output: string[] = [];
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(
        'mvn',
        [
          '-q',
          '-B',
          '-f',
          path.join(work, 'pom.xml'),
          'dependency:copy-dependencies',
          '-DincludeScope=runtime',
          `-DoutputDirectory=${path.join(work, 'lib')}`,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      child.on('error', reject);
      child.on('exit', resolve);
    });
    const jar = path.join(work, 'lib', `temporal-test-server-${temporalTestServerVersion}.jar`);
    if (code !== 0 || !fs.existsSync(jar)) {
      throw new Error(
        `fetching Temporal's test server failed (mvn exited ${code}):\n${output.join('').slice(-4000)}\n${howToGet}`,
      );
    }
    fs.writeFileSync(path.join(work, 'temporal-test-server'), wrapper(target), { mode: 0o755 });
    try {
      fs.renameSync(work, target);
    } catch (err) {
      // Another run got there first: its copy is as good as ours.
      if (!isExecutable(path.join(target, 'temporal-test-server'))) throw err;
    }
    log(`fetched Temporal's test server in ${Math.round((Date.now() - started) / 1000)}s`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
