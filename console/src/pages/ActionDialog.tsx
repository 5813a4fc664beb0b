/** Cancel or return a redemption: a dialog asks for the reason; one Idempotency-Key per attempt. */
import type { ReactNode } from 'react';
import { api, type RedemptionAction } from '../api';
import { ReasonDialog } from './ReasonDialog';

type DialogAction = Exclude<RedemptionAction, 'review'>;

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
