/**
 * Temporal's time-skipping test server keeps no record of its pollers: it does not implement
 * `DescribeTaskQueue` (12 UNIMPLEMENTED), which a launch's readiness check ("a worker is
 * polling") and the `LoyaltyNoWorkerPolling` alert read. This gRPC pass-through sits between
 * the test's clients and worker and that server: it forwards every call unchanged, notes the
 * task queue polls it forwards (who, on which queue, when), and answers `DescribeTaskQueue`
 * from them, as the real server does from the polls it receives. `lastAccessTime` is the wall
 * clock (the readiness check compares it with the activity's wall clock).
 */
import * as grpc from '@grpc/grpc-js';
import { msToTs } from '@temporalio/common/lib/time';
import * as proto from '@temporalio/proto';

const { temporal } = proto;
/** The package is also the protobufjs root its types do not declare. */
const root = proto as unknown as {
  lookupService(name: string): {
    methods: Record<string, { requestStream?: boolean; responseStream?: boolean }>;
  };
};

const { workflowservice } = temporal.api;
const { TaskQueueType, TaskQueueKind } = temporal.api.enums.v1;

const services = [
  'temporal.api.workflowservice.v1.WorkflowService',
  'temporal.api.operatorservice.v1.OperatorService',
  'temporal.api.testservice.v1.TestService',
  'grpc.health.v1.Health',
];
const path = (service: string, method: string) => `/${service}/${method}`;
const workflowService = services[0]!;
const describeTaskQueue = path(workflowService, 'DescribeTaskQueue');
const pollWorkflow = path(workflowService, 'PollWorkflowTaskQueue');
const pollActivity = path(workflowService, 'PollActivityTaskQueue');

/** gRPC messages as bytes: nothing is decoded but the polls and DescribeTaskQueue. */
const bytes = (value: Buffer): Buffer => value;

export interface PollerProxy {
  address: string;
  close: () => void;
}

export async function startPollerProxy(target: string): Promise<PollerProxy> {
  const upstream = new grpc.Client(target, grpc.credentials.createInsecure());
  // `<type>:<queue>` -> identity -> last poll (wall clock ms).
  const pollers = new Map<string, Map<string, number>>();
  const note = (type: number, queue?: { name?: string | null; kind?: number | null } | null) => {
    if (!queue?.name || queue.kind === TaskQueueKind.TASK_QUEUE_KIND_STICKY) return;
    return (identity: string) => {
      const key = `${type}:${queue.name}`;
      const seen = pollers.get(key) ?? new Map<string, number>();
      seen.set(identity, Date.now());
      pollers.set(key, seen);
    };
  };
  const observe = (method: string, request: Buffer): void => {
    if (method === pollWorkflow) {
      const poll = workflowservice.v1.PollWorkflowTaskQueueRequest.decode(request);
      note(TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, poll.taskQueue)?.(poll.identity);
    } else if (method === pollActivity) {
      const poll = workflowservice.v1.PollActivityTaskQueueRequest.decode(request);
      note(TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY, poll.taskQueue)?.(poll.identity);
    }
  };
  const describe = (request: Buffer): Buffer => {
    const asked = workflowservice.v1.DescribeTaskQueueRequest.decode(request);
    const type = asked.taskQueueType || TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW;
    const seen = pollers.get(`${type}:${asked.taskQueue?.name ?? ''}`) ?? new Map();
    const answer = workflowservice.v1.DescribeTaskQueueResponse.encode({
      pollers: [...seen].map(([identity, at]) => ({
        identity,
        lastAccessTime: msToTs(at),
      })),
    }).finish();
    return Buffer.from(answer);
  };

  const server = new grpc.Server();
  for (const service of services) {
    const methods = Object.entries(root.lookupService(service).methods);
    // All of Temporal's are unary; Health's `Watch` stream is left out (nobody here watches).
    for (const [method] of methods.filter(([, m]) => !m.requestStream && !m.responseStream)) {
      const name = path(service, method);
      server.register<Buffer, Buffer>(
        name,
        (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
          if (name === describeTaskQueue) {
            callback(null, describe(call.request));
            return;
          }
          observe(name, call.request);
          const forwarded = upstream.makeUnaryRequest(
            name,
            bytes,
            bytes,
            call.request,
            call.metadata,
            { deadline: call.getDeadline() },
            (err, response) => callback(err, response),
          );
          // A worker shutting down cancels its long polls: so does the pass-through.
          call.on('cancelled', () => forwarded.cancel());
        },
        bytes,
        bytes,
        'unary',
      );
    }
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    close: () => {
      server.forceShutdown();
      upstream.close();
    },
  };
}
