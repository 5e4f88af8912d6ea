import type { aftersaleZh } from './aftersale-zh';

/** The shopper's side after checkout (issue 24), in English: the same keys as aftersale-zh.ts. */
export const aftersaleEn: Record<keyof typeof aftersaleZh, string> = {
  'aftersale.timeLeft': '{minutes} min left to pay (unpaid by {time}, the order is cancelled and its goods go back on the shelf)',
  'aftersale.timeUp': 'The time to pay is up: the order is being cancelled',
  'aftersale.cancel.button': 'Cancel order',
  'aftersale.cancel.pending': 'Cancellation requested: it is closed as soon as WeChat Pay allows (5 minutes after ordering); paying before then still succeeds.',
  'flash.aftersale.cancel.done': 'Order #{id} is cancelled and its goods are back on the shelf. Other orders of the same payment are cancelled with it.',
  'flash.aftersale.cancel.requested': 'Cancellation of order #{id} requested: WeChat Pay does not allow closing it yet, so it closes after {time}; paying before then still succeeds.',
  'flash.aftersale.cancel.paidMeanwhile': 'Order #{id} was paid already, so it cannot be cancelled. To get your money back, ask for a refund on the order page.',
  'aftersale.error.notCancellable': 'This is not an unpaid WeChat Pay order, so it cannot be cancelled.',
  'event.closed_by_shopper': 'Cancelled by the shopper (closed at WeChat Pay, stock returned)',
  'event.cancel_requested': 'The shopper asked to cancel; closed as soon as WeChat Pay allows',
};
