import type { RequestHandler } from 'express';
import { formatDateTime, isLocale, localeFromAcceptLanguage, translator, type Locale } from '../i18n';
import { formatFen } from '../money';

declare module 'express-session' {
  interface SessionData {
    lang?: Locale;
  }
}

/**
 * Picks the shopper's language: `?lang=` (remembered in the session), else the session's,
 * else the browser's Accept-Language, else Chinese; and gives every view `t` and `formatFen`.
 */
export const localeMiddleware: RequestHandler = (req, res, next) => {
  const asked = typeof req.query.lang === 'string' ? req.query.lang : undefined;
  let locale: Locale;
  if (isLocale(asked)) {
    locale = asked;
    if (req.session && req.session.lang !== asked) req.session.lang = asked;
  } else if (req.session && isLocale(req.session.lang)) {
    locale = req.session.lang;
  } else {
    locale = localeFromAcceptLanguage(req.get('accept-language'));
  }
  const other: Locale = locale === 'zh' ? 'en' : 'zh';
  const switchUrl = new URL(req.originalUrl, 'http://x');
  switchUrl.searchParams.set('lang', other);
  res.locals.locale = locale;
  res.locals.t = translator(locale);
  res.locals.formatFen = formatFen;
  res.locals.formatDateTime = formatDateTime;
  res.locals.langSwitchHref = `${switchUrl.pathname}${switchUrl.search}`;
  res.set('Content-Language', locale === 'zh' ? 'zh-CN' : 'en');
  next();
};
