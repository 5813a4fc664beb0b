/**
 * Cancel, return or settle a redemption: a dialog asks for the reason; one Idempotency-Key per
 * attempt.
 */
import type { ReactNode } from 'react';
import { api, type RedemptionAction, type SettleAction } from '../api';
import { ReasonDialog } from './ReasonDialog';

type DialogAction = Exclude<RedemptionAction, 'review' | 'settle'>;

const labels: Record<DialogAction, { open: string; title: string; submit: string; done: string }> =
  {
    cancel: {
      open: 'Cancel redemption…',
      title: 'Cancel this redemption',
      submit: 'Cancel redemption',
      done: 'Cancelled: stock and points are given back.',
    },
    return: {
      open: 'Record a return…',
      title: 'Record a return',
      submit: 'Record the return',
      done: 'Return recorded: the points are refunded after the tier’s delay.',
    },
  };

export function ActionDialog({
  id,
  action,
  done,
}: {
  id: string;
  action: DialogAction;
  done: (message: ReactNode) => void;
}) {
  const text = labels[action];
  return (
    <ReasonDialog
      open={text.open}
      title={text.title}
      submit={text.submit}
      danger={action === 'cancel'}
      send={async (reason, key) => {
        await api.act(id, action, reason, key);
        return text.done;
      }}
      done={done}
    />
  );
}

const settleLabels: Record<
  SettleAction,
  { open: string; title: string; submit: string; help: string; done: string }
> = {
  spend: {
    open: 'Settle: spend the held points…',
    title: 'Spend the held points',
    submit: 'Spend the points',
    help: 'The workflow is closed with the points still held. Spending them completes the redemption: they leave the member for good.',
    done: 'Settled: the held points are spent and the redemption is completed.',
  },
  release: {
    open: 'Settle: give the held points back…',
    title: 'Give the held points back',
    submit: 'Give the points back',
    help: 'The workflow is closed with the points still held. Giving them back cancels the redemption: the member has them again.',
    done: 'Settled: the held points are given back and the redemption is cancelled.',
  },
};

/** Settle the points a closed workflow left held: spend them, or give them back. */
export function SettleDialog({
  id,
  action,
  done,
}: {
  id: string;
  action: SettleAction;
  done: (message: ReactNode) => void;
}) {
  const text = settleLabels[action];
  return (
    <ReasonDialog
      open={text.open}
      title={text.title}
      submit={text.submit}
      help={text.help}
      danger={action === 'spend'}
      send={async (reason, key) => {
        await api.settle(id, action, reason, key);
        return text.done;
      }}
      done={done}
    />
  );
}
