import type { AlertsConfig } from '../config';
import type { Channel } from './channel';
import { dingtalkChannel } from './dingtalk';
import { feishuChannel } from './feishu';
import { webhookChannel } from './webhook';
import { wecomChannel } from './wecom';

/**
 * The merchant's alerts, delivered from the transactional outbox the ledger writes: the dispatcher
 * (dispatcher.ts, its statements in store.ts), one file per channel, the messages in the shop's
 * language (message.ts), the retry schedule (schedule.ts).
 */

export { createDispatcher, type Dispatcher } from './dispatcher';
export { CHANNELS, type Channel, type ChannelName } from './channel';
export { deliveryTrouble, listDeliveries, sendAgain, type DeliveryFilter, type DeliveryRow } from './store';
export { MAX_ATTEMPTS, RETRY_DELAYS_SECONDS } from './schedule';
export { SIGNATURE_HEADER, verifyWebhookSignature, webhookSignature } from './webhook';
export { dingtalkSign } from './dingtalk';
export { feishuSign } from './feishu';

/** The channels the configuration enables (in simulator mode with none set: the simulator's stand-in WeCom robot at `simulatorRobotUrl`). */
export function channelsOf(alerts: AlertsConfig, simulatorRobotUrl: string | undefined): Channel[] {
  const channels: Channel[] = [];
  if (alerts.wecom) channels.push(wecomChannel(alerts.wecom.url));
  else if (alerts.simulatorRobot && simulatorRobotUrl) channels.push(wecomChannel(simulatorRobotUrl));
  if (alerts.dingtalk) channels.push(dingtalkChannel(alerts.dingtalk.url, alerts.dingtalk.secret));
  if (alerts.feishu) channels.push(feishuChannel(alerts.feishu.url, alerts.feishu.secret, alerts.locale));
  if (alerts.webhook) channels.push(webhookChannel(alerts.webhook.url, alerts.webhook.secret));
  return channels;
}
