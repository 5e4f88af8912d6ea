/**
 * The settings of the merchant's alerts (issue 23), read by config.ts's loadConfig (the one place
 * process.env is read) through the helpers it hands over, so a bad value is its ConfigError.
 */

/** The channels of the merchant's alerts and how the dispatcher runs (src/outbox). */
export interface AlertsConfig {
  wecom: { url: string } | undefined;
  dingtalk: { url: string; secret: string | undefined } | undefined;
  feishu: { url: string; secret: string | undefined } | undefined;
  webhook: { url: string; secret: string } | undefined;
  /** the language of the robots' messages */
  locale: 'zh' | 'en';
  /** how often each instance looks for alerts to send; 0 turns the dispatcher off */
  dispatchIntervalSeconds: number;
  /** simulator mode with no channel set: the simulator's stand-in robot gets them, so the demo shows alerts */
  simulatorRobot: boolean;
}

/**
 * The alert channels (issue 23): a group robot of WeCom, DingTalk (with its optional signing
 * secret, "加签") and Feishu (likewise), and a signed webhook for the merchant's own systems, each
 * on when its URL is set. In live mode every URL is https.
 */
export function alertsConfigOf(read: {
  get: (name: string) => string | undefined;
  live: boolean;
  intSetting: (name: string, fallback: string, min: number, max: number, unit?: string) => number;
  isUrl: (raw: string, protocols: string[]) => boolean;
  /** config.ts's ConfigError: one line naming the setting, exit 2 */
  fail: (variable: string, problem: string) => Error;
}): AlertsConfig {
  const { get, live, intSetting, fail } = read;
  const url = (name: string): string | undefined => {
    const raw = get(name);
    if (raw === undefined) return undefined;
    // never echo the URL back: a robot's URL carries its access token
    if (!read.isUrl(raw, live ? ['https:'] : ['http:', 'https:'])) throw fail(name, live ? 'must be an https:// URL in live mode' : 'must be an http(s):// URL');
    return raw;
  };
  const secret = (name: string, pattern: RegExp, expectation: string, forUrl: string | undefined, urlName: string): string | undefined => {
    const raw = get(name);
    if (raw === undefined) return undefined;
    if (forUrl === undefined) throw fail(name, `is set but ${urlName} is not`);
    if (!pattern.test(raw)) throw fail(name, expectation);
    return raw;
  };
  const wecomUrl = url('ALERT_WECOM_WEBHOOK_URL');
  const dingtalkUrl = url('ALERT_DINGTALK_WEBHOOK_URL');
  const dingtalkSecret = secret('ALERT_DINGTALK_SECRET', /^SEC[0-9a-zA-Z]{16,128}$/, 'must be the robot\'s signing secret ("SEC" followed by letters and digits)', dingtalkUrl, 'ALERT_DINGTALK_WEBHOOK_URL');
  const feishuUrl = url('ALERT_FEISHU_WEBHOOK_URL');
  const feishuSecret = secret('ALERT_FEISHU_SECRET', /^[\x21-\x7e]{8,128}$/, "must be the robot's signing secret (8-128 printable characters)", feishuUrl, 'ALERT_FEISHU_WEBHOOK_URL');
  const webhookUrl = url('ALERT_WEBHOOK_URL');
  const webhookSecret = secret('ALERT_WEBHOOK_SECRET', /^[\x21-\x7e]{16,256}$/, 'must be 16-256 printable characters without spaces', webhookUrl, 'ALERT_WEBHOOK_URL');
  if (webhookUrl !== undefined && webhookSecret === undefined) throw fail('ALERT_WEBHOOK_SECRET', 'is required with ALERT_WEBHOOK_URL (receivers check the signature with it)');
  const localeRaw = get('ALERT_LOCALE') ?? 'zh';
  if (localeRaw !== 'zh' && localeRaw !== 'en') throw fail('ALERT_LOCALE', `must be zh or en (got ${JSON.stringify(localeRaw)})`);
  const anyChannel = wecomUrl !== undefined || dingtalkUrl !== undefined || feishuUrl !== undefined || webhookUrl !== undefined;
  return {
    wecom: wecomUrl === undefined ? undefined : { url: wecomUrl },
    dingtalk: dingtalkUrl === undefined ? undefined : { url: dingtalkUrl, secret: dingtalkSecret },
    feishu: feishuUrl === undefined ? undefined : { url: feishuUrl, secret: feishuSecret },
    webhook: webhookUrl === undefined || webhookSecret === undefined ? undefined : { url: webhookUrl, secret: webhookSecret },
    locale: localeRaw,
    dispatchIntervalSeconds: intSetting('ALERT_DISPATCH_INTERVAL_SECONDS', '5', 0, 3600, ' of seconds'),
    simulatorRobot: !live && !anyChannel,
  };
}
