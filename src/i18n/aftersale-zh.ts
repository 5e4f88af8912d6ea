/**
 * The shopper's side after checkout (issue 24): cancelling, refunds and returns, in Chinese. Kept
 * in a file of its own (merged in index.ts) so that other features' keys never collide with these.
 */
export const aftersaleZh = {
  'aftersale.timeLeft': '剩余 {minutes} 分钟支付（{time} 前未支付，订单自动取消，商品放回库存）',
  'aftersale.timeUp': '支付时间已到，订单即将自动取消',
  'aftersale.cancel.button': '取消订单',
  'aftersale.cancel.pending': '已申请取消：微信支付允许关单后即关闭（下单 5 分钟后），在此之前付款仍会成功。',
  'flash.aftersale.cancel.done': '订单 #{id} 已取消，商品已放回库存。同一次支付的其他订单一并取消。',
  'flash.aftersale.cancel.requested': '已申请取消订单 #{id}：微信支付不允许立即关单，将于 {time} 后关闭；在此之前付款仍会成功。',
  'flash.aftersale.cancel.paidMeanwhile': '订单 #{id} 已经付款成功，无法取消。如需退款，请在订单页申请。',
  'aftersale.error.notCancellable': '这笔订单不是待支付的微信支付订单，无法取消。',
  'event.closed_by_shopper': '顾客取消订单（已在微信支付关单，库存已放回）',
  'event.cancel_requested': '顾客申请取消；微信支付允许关单后自动关闭',
} as const;
