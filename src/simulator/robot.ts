import crypto from 'node:crypto';
import path from 'node:path';
import ejs from 'ejs';
import express, { type Request, type Response } from 'express';
import type { Knex } from 'knex';
import { sameText } from '../timing-safe';

/**
 * A stand-in group robot, so the demo shows the merchant's alerts with no account anywhere: it
 * answers at the paths of WeCom (`/cgi-bin/webhook/send?key=…`), DingTalk (`/robot/send?access_token=…`,
 * with its "加签" signature checked when the shop has a secret) and Feishu
 * (`/open-apis/bot/v2/hook/<token>`, its body signature likewise), in each one's answer format, and
 * keeps what it received (sim_robot_messages) for a page that lists it (`/wxsim/robot`). What is
 * malformed or badly signed is refused the way the robot refuses it, and kept too, marked.
 */

export interface RobotOptions {
  knex: Knex;
  clock: () => Date;
  /** the signing secrets the shop was given for DingTalk and Feishu (their robots' settings) */
  secrets?: { dingtalk?: string | undefined; feishu?: string | undefined };
}

type Robot = 'wecom' | 'dingtalk' | 'feishu';

const VIEW = path.resolve(__dirname, '..', '..', 'views', 'simulator', 'robot.ejs');
const PAGE_CSP = "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'";
/** DingTalk and Feishu refuse a signature older (or newer) than an hour */
const SIGNATURE_WINDOW_MS = 3600 * 1000;

/** The text a message carries, whatever its format (the page shows it). */
export function robotText(robot: Robot, body: Record<string, unknown>): string | undefined {
  const obj = (v: unknown) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : undefined);
  if (robot === 'wecom' || robot === 'dingtalk') {
    const type = body.msgtype;
    if (type === 'markdown') {
      const md = obj(body.markdown);
      const text = robot === 'wecom' ? md?.content : md?.text;
      return typeof text === 'string' && (robot === 'wecom' || typeof md?.title === 'string') ? text : undefined;
    }
    if (type === 'text') return typeof obj(body.text)?.content === 'string' ? String(obj(body.text)?.content) : undefined;
    return undefined;
  }
  if (body.msg_type === 'text') return typeof obj(obj(body.content))?.text === 'string' ? String(obj(body.content)?.text) : undefined;
  if (body.msg_type === 'post') {
    const post = obj(obj(body.content)?.post);
    const lang = post && (obj(post.zh_cn) ?? obj(post.en_us));
    if (!lang || !Array.isArray(lang.content)) return undefined;
    const lines = (lang.content as unknown[]).map((line) => (Array.isArray(line) ? line.map((el) => String(obj(el)?.text ?? '') + (obj(el)?.href ? ` (${String(obj(el)?.href)})` : '')).join('') : ''));
    return [String(lang.title ?? ''), ...lines].join('\n');
  }
  return undefined;
}

export function robotRoutes(options: RobotOptions): express.Router {
  const router = express.Router();
  const json = express.json({ limit: '64kb', type: () => true });
  const keep = (robot: Robot, verdict: string, body: unknown) =>
    options.knex('sim_robot_messages').insert({ robot, received_at: options.clock(), verdict, body: JSON.stringify(body ?? null).slice(0, 65536) });

  const bodyOf = (req: Request): Record<string, unknown> => (req.body !== null && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : {});

  router.post('/cgi-bin/webhook/send', json, async (req, res) => {
    const body = bodyOf(req);
    if (typeof req.query.key !== 'string' || req.query.key === '') {
      await keep('wecom', 'bad_key', body);
      return void res.json({ errcode: 93000, errmsg: 'invalid webhook url' });
    }
    if (robotText('wecom', body) === undefined) {
      await keep('wecom', 'bad_format', body);
      return void res.json({ errcode: 40008, errmsg: 'invalid message type' });
    }
    await keep('wecom', 'ok', body);
    res.json({ errcode: 0, errmsg: 'ok' });
  });

  router.post('/robot/send', json, async (req, res) => {
    const body = bodyOf(req);
    if (typeof req.query.access_token !== 'string' || req.query.access_token === '') {
      await keep('dingtalk', 'bad_token', body);
      return void res.json({ errcode: 300001, errmsg: 'token is not exist' });
    }
    const secret = options.secrets?.dingtalk;
    if (secret) {
      const timestamp = Number(req.query.timestamp);
      const sign = typeof req.query.sign === 'string' ? req.query.sign : '';
      const expected = crypto.createHmac('sha256', secret).update(`${timestamp}\n${secret}`).digest('base64');
      if (!Number.isFinite(timestamp) || Math.abs(options.clock().getTime() - timestamp) > SIGNATURE_WINDOW_MS || !sameText(sign, expected)) {
        await keep('dingtalk', 'bad_signature', body);
        return void res.json({ errcode: 310000, errmsg: 'sign not match' });
      }
    }
    if (robotText('dingtalk', body) === undefined) {
      await keep('dingtalk', 'bad_format', body);
      return void res.json({ errcode: 40035, errmsg: 'invalid message' });
    }
    await keep('dingtalk', 'ok', body);
    res.json({ errcode: 0, errmsg: 'ok' });
  });

  router.post('/open-apis/bot/v2/hook/:token', json, async (req, res) => {
    const body = bodyOf(req);
    const secret = options.secrets?.feishu;
    if (secret) {
      const timestamp = Number(body.timestamp);
      const expected = crypto.createHmac('sha256', `${String(body.timestamp)}\n${secret}`).update('').digest('base64');
      if (!Number.isFinite(timestamp) || Math.abs(options.clock().getTime() / 1000 - timestamp) > SIGNATURE_WINDOW_MS / 1000 || !sameText(String(body.sign ?? ''), expected)) {
        await keep('feishu', 'bad_signature', body);
        return void res.json({ code: 19021, msg: 'sign match fail or timestamp is not within one hour from current time' });
      }
    }
    if (robotText('feishu', body) === undefined) {
      await keep('feishu', 'bad_format', body);
      return void res.json({ code: 9499, msg: 'Bad Request' });
    }
    await keep('feishu', 'ok', body);
    res.json({ code: 0, msg: 'success', data: {} });
  });

  router.get('/robot', async (_req: Request, res: Response) => {
    const rows = (await options.knex('sim_robot_messages').orderBy('id', 'desc').limit(100).select('id', 'robot', 'received_at', 'verdict', 'body')) as { id: number; robot: Robot; received_at: Date; verdict: string; body: string }[];
    const messages = rows.map((r) => {
      let parsed: Record<string, unknown> = {};
      try {
        parsed = JSON.parse(r.body) as Record<string, unknown>;
      } catch {
        // kept as it came
      }
      return { ...r, text: robotText(r.robot, parsed) ?? r.body };
    });
    const html = await ejs.renderFile(VIEW, { base: res.req.baseUrl, messages });
    res.status(200).set('Content-Security-Policy', PAGE_CSP).set('Cache-Control', 'no-store').type('html').send(html);
  });

  return router;
}
