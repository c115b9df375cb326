/*! Plaudit widget: referrals and loyalty | Apache-2.0 | no dependencies, no build step.
 *
 * Embed (see docs/widget.md):
 *   <script>window.plaudit = window.plaudit || function () { (plaudit.q = plaudit.q || []).push(arguments) };</script>
 *   <script async src="https://PLAUDIT/widget.js"></script>
 *   plaudit("loadReferralWidget", {auth_token: "..."}); plaudit("showReferralWidget");
 *   plaudit("loadLoyaltyWidget", {auth_token: "...", tabs: true}); plaudit("showLoyaltyWidget");
 *
 * Pages written for the referral widget guide's `gr(...)` global work unchanged.
 * Under a strict CSP: no eval, no inline handlers, styles through constructed stylesheets.
 */
(() => {
  "use strict";
  const w = window;
  const d = document;
  if (w.plaudit && w.plaudit.__plaudit) return; // loaded twice: the first copy serves both

  // --- every user-facing string, one object per language --------------------------------------
  const STRINGS = {
    en: {
      title: "Invite friends",
      titleProduct: "Invite friends to {product}",
      greeting: "Hi {name}!",
      reward: "Give friends your link to {product}, get {reward} when they {event}.",
      rewardNone: "Share {product} with friends using your personal link.",
      event_signup: "sign up",
      event_conversion: "become customers",
      kind_credit: "{n} credit",
      kind_points: "{n} points",
      kind_other: "{n} {kind}",
      linkLabel: "Your referral link",
      copy: "Copy",
      copied: "Copied!",
      copyManual: "Press Ctrl+C to copy",
      shareTitle: "Share",
      email: "Email",
      x: "X",
      linkedin: "LinkedIn",
      whatsapp: "WhatsApp",
      shareOn: "Share on {network} (opens in a new tab)",
      shareEmail: "Share by email",
      statsTitle: "Your referrals",
      clicks: "Clicks",
      signups: "Sign-ups",
      conversions: "Conversions",
      rewardsTitle: "Rewards earned",
      total: "Total: {rewards}",
      rewardsNone: "No rewards yet. They show up here when your friends {event}.",
      rewardPending: "Pending",
      rewardPendingUntil: "Pending until {date}",
      close: "Close",
      loading: "Loading your referral link…",
      errorExpired: "Your session has expired. Please reload the page and try again.",
      errorAuth: "We couldn't confirm your account. Please sign in again.",
      errorNetwork: "We couldn't reach the referral service. Check your connection and try again.",
      errorGeneric: "Your referral details can't be shown right now. Please try again later.",
      retry: "Try again",
      shareSubject: "Join me on {product}",
      shareText: "I use {product} and think you'd like it. Sign up with my link: {link}",
      // the loyalty view
      tab_referral: "Invite friends",
      tab_loyalty: "Rewards",
      tabs: "Sections",
      titleLoyalty: "Your rewards",
      titleLoyaltyProduct: "Your {product} rewards",
      loadingLoyalty: "Loading your points…",
      errorNetworkLoyalty: "We couldn't reach the rewards service. Check your connection and try again.",
      errorGenericLoyalty: "Your points can't be shown right now. Please try again later.",
      unit: "points",
      unit_one: "point",
      balance: "Your balance",
      tierNow: "{tier} tier",
      tierNext: "{points} to reach {tier}",
      tierTop: "You've reached the top tier.",
      tierProgress: "Progress to {tier}",
      redeemTitle: "Redeem your points",
      redeem: "Redeem",
      redeemName: "Redeem {reward}",
      needMore: "{points} more needed",
      soldOut: "Out of stock",
      left: "{n} left",
      rewardsEmptyLoyalty: "There are no rewards to redeem yet.",
      confirmTitle: "Redeem {reward}?",
      confirmText: "This costs {cost}. You have {balance}; afterwards you'll have {after}.",
      confirm: "Redeem for {cost}",
      cancel: "Cancel",
      redeeming: "Redeeming…",
      redeemed: "You redeemed {reward}. Your balance is now {balance}.",
      fail_insufficient_points: "You don't have enough points for {reward}.",
      fail_reward_out_of_stock: "{reward} is out of stock.",
      fail_reward_unavailable: "{reward} can't be redeemed any more.",
      fail_not_found: "{reward} can't be redeemed any more.",
      fail_reward_out_of_codes: "{reward} has no codes left right now.",
      failOther: "{reward} couldn't be redeemed. Please try again later.",
      failNetwork: "We couldn't reach the rewards service. Try again: you won't be charged twice.",
      earnTitle: "Ways to earn",
      earnRate: "{points} per {property}",
      earnOnce: "once",
      earnDaily: "up to {n}× a day",
      badgesTitle: "Badges",
      badgesCount: "{n} of {total} earned",
      badgeEarned: "Earned {date}",
      badgeLocked: "Not earned yet",
      boardTitle: "Leaderboard",
      "board_all-time": "All time",
      board_month: "This month",
      board_week: "This week",
      you: "(you)",
      boardMe: "Your rank: {rank} · {points}",
      boardUnranked: "Earn points to appear on this board.",
      boardEmpty: "No one is on this board yet.",
      historyTitle: "History",
      historyEmpty: "No points yet: the ways to earn are above.",
      more: "Show more",
      sectionError: "This can't be shown right now.",
      // holds, expiry, rolling tiers, streaks and reward codes
      pending: "{points} pending",
      releaseAll: "available {date}",
      releasePart: "{points} available {date}",
      expiry: "{points} expire on {date}",
      expiry_one: "{points} expires on {date}",
      keepTier: "Keep {tier}: earn {n} more {unit} by {date}",
      streaksTitle: "Streaks",
      streakDays: "{n}-day streak",
      streakBest: "Best: {n} days",
      streakBest_one: "Best: {n} day",
      streakNone: "No streak right now",
      streakToday: "Counted today",
      streakOpen: "Not yet today: keep it going",
      entryPending: "Pending until {date}",
      entryExpires: "Expires {date}",
      codeLabel: "Your code",
      codeFor: "Code for {what}",
      copyCodeFor: "Copy code for {what}",
      deliverBy: "{product} will deliver your reward.",
      deliverAnon: "Your reward will be delivered to you.",
      status_pending_fulfilment: "Awaiting fulfilment",
      status_fulfilled: "Fulfilled",
      status_failed: "Failed — points returned",
    },
    de: {
      title: "Freunde einladen",
      titleProduct: "Lade Freunde zu {product} ein",
      greeting: "Hallo {name}!",
      reward: "Teile deinen Link zu {product} mit Freunden und erhalte {reward}, wenn sie {event}.",
      rewardNone: "Teile {product} mit deinem persönlichen Link mit Freunden.",
      event_signup: "sich registrieren",
      event_conversion: "Kunden werden",
      kind_credit: "{n} Guthaben",
      kind_points: "{n} Punkte",
      kind_other: "{n} {kind}",
      linkLabel: "Dein Empfehlungslink",
      copy: "Kopieren",
      copied: "Kopiert!",
      copyManual: "Zum Kopieren Strg+C drücken",
      shareTitle: "Teilen",
      email: "E-Mail",
      x: "X",
      linkedin: "LinkedIn",
      whatsapp: "WhatsApp",
      shareOn: "Auf {network} teilen (öffnet einen neuen Tab)",
      shareEmail: "Per E-Mail teilen",
      statsTitle: "Deine Empfehlungen",
      clicks: "Klicks",
      signups: "Anmeldungen",
      conversions: "Abschlüsse",
      rewardsTitle: "Verdiente Prämien",
      total: "Gesamt: {rewards}",
      rewardsNone: "Noch keine Prämien. Sie erscheinen hier, sobald deine Freunde {event}.",
      rewardPending: "Ausstehend",
      rewardPendingUntil: "Ausstehend bis {date}",
      close: "Schließen",
      loading: "Dein Empfehlungslink wird geladen …",
      errorExpired: "Deine Sitzung ist abgelaufen. Bitte lade die Seite neu und versuche es noch einmal.",
      errorAuth: "Wir konnten dein Konto nicht bestätigen. Bitte melde dich erneut an.",
      errorNetwork: "Der Empfehlungsdienst ist nicht erreichbar. Prüfe deine Verbindung und versuche es noch einmal.",
      errorGeneric: "Deine Empfehlungsdaten können gerade nicht angezeigt werden. Bitte versuche es später noch einmal.",
      retry: "Erneut versuchen",
      shareSubject: "Komm zu {product}",
      shareText: "Ich nutze {product} und glaube, es gefällt dir auch. Melde dich mit meinem Link an: {link}",
      // die Treue-Ansicht
      tab_referral: "Freunde einladen",
      tab_loyalty: "Prämien",
      tabs: "Bereiche",
      titleLoyalty: "Deine Prämien",
      titleLoyaltyProduct: "Deine Prämien bei {product}",
      loadingLoyalty: "Deine Punkte werden geladen …",
      errorNetworkLoyalty: "Der Prämiendienst ist nicht erreichbar. Prüfe deine Verbindung und versuche es noch einmal.",
      errorGenericLoyalty: "Deine Punkte können gerade nicht angezeigt werden. Bitte versuche es später noch einmal.",
      unit: "Punkte",
      unit_one: "Punkt",
      balance: "Dein Kontostand",
      tierNow: "Stufe {tier}",
      tierNext: "Noch {points} bis {tier}",
      tierTop: "Du hast die höchste Stufe erreicht.",
      tierProgress: "Fortschritt bis {tier}",
      redeemTitle: "Punkte einlösen",
      redeem: "Einlösen",
      redeemName: "{reward} einlösen",
      needMore: "Noch {points} nötig",
      soldOut: "Ausverkauft",
      left: "Noch {n} verfügbar",
      rewardsEmptyLoyalty: "Noch gibt es keine Prämien zum Einlösen.",
      confirmTitle: "{reward} einlösen?",
      confirmText: "Das kostet {cost}. Du hast {balance}, danach noch {after}.",
      confirm: "Für {cost} einlösen",
      cancel: "Abbrechen",
      redeeming: "Wird eingelöst …",
      redeemed: "Du hast {reward} eingelöst. Dein Kontostand: {balance}.",
      fail_insufficient_points: "Für {reward} reichen deine Punkte nicht.",
      fail_reward_out_of_stock: "{reward} ist ausverkauft.",
      fail_reward_unavailable: "{reward} kann nicht mehr eingelöst werden.",
      fail_not_found: "{reward} kann nicht mehr eingelöst werden.",
      fail_reward_out_of_codes: "Für {reward} sind gerade keine Codes mehr da.",
      failOther: "{reward} konnte nicht eingelöst werden. Bitte versuche es später noch einmal.",
      failNetwork: "Der Prämiendienst ist nicht erreichbar. Versuche es noch einmal: es wird nur einmal abgebucht.",
      earnTitle: "So sammelst du Punkte",
      earnRate: "{points} pro {property}",
      earnOnce: "einmalig",
      earnDaily: "bis zu {n}× am Tag",
      badgesTitle: "Abzeichen",
      badgesCount: "{n} von {total} erhalten",
      badgeEarned: "Erhalten am {date}",
      badgeLocked: "Noch nicht erhalten",
      boardTitle: "Bestenliste",
      "board_all-time": "Gesamt",
      board_month: "Dieser Monat",
      board_week: "Diese Woche",
      you: "(du)",
      boardMe: "Dein Rang: {rank} · {points}",
      boardUnranked: "Sammle Punkte, um hier zu erscheinen.",
      boardEmpty: "Auf dieser Bestenliste steht noch niemand.",
      historyTitle: "Verlauf",
      historyEmpty: "Noch keine Punkte: oben steht, wie du welche sammelst.",
      more: "Mehr anzeigen",
      sectionError: "Das kann gerade nicht angezeigt werden.",
      // Vormerkungen, Verfall, rollierende Stufen, Serien und Prämiencodes
      pending: "{points} ausstehend",
      releaseAll: "verfügbar ab {date}",
      releasePart: "{points} verfügbar ab {date}",
      expiry: "{points} verfallen am {date}",
      expiry_one: "{points} verfällt am {date}",
      keepTier: "{tier} halten: sammle bis {date} noch {n} {unit}",
      streaksTitle: "Serien",
      streakDays: "{n} Tage in Folge",
      streakDays_one: "{n} Tag in Folge",
      streakBest: "Rekord: {n} Tage",
      streakBest_one: "Rekord: {n} Tag",
      streakNone: "Gerade keine Serie",
      streakToday: "Heute schon gezählt",
      streakOpen: "Heute noch offen: bleib dran",
      entryPending: "Ausstehend bis {date}",
      entryExpires: "Verfällt am {date}",
      codeLabel: "Dein Code",
      codeFor: "Code für {what}",
      copyCodeFor: "Code für {what} kopieren",
      deliverBy: "{product} stellt dir deine Prämie zu.",
      deliverAnon: "Deine Prämie wird dir zugestellt.",
      status_pending_fulfilment: "Wird bearbeitet",
      status_fulfilled: "Zugestellt",
      status_failed: "Fehlgeschlagen – Punkte zurückgebucht",
    },
  };

  const CSS = `
:host{all:initial;display:block;--plaudit-primary:#4f46e5;--plaudit-bg:#fff;--plaudit-text:#111827;--plaudit-on-primary:#fff;
color:var(--plaudit-text);font-family:var(--plaudit-font,system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif);
font-size:15px;line-height:1.5;text-align:left;-webkit-text-size-adjust:100%}
*,*::before,*::after{box-sizing:border-box}
[hidden]{display:none!important}
.backdrop{position:fixed;inset:0;z-index:2147483000;display:flex;align-items:center;justify-content:center;padding:16px;
background:rgba(17,24,39,.55);animation:fade .15s ease-out}
.dialog{position:relative;display:flex;flex-direction:column;width:100%;max-width:440px;max-height:calc(100vh - 32px);
max-height:calc(100dvh - 32px);overflow:hidden;background:var(--plaudit-bg);color:var(--plaudit-text);border-radius:var(--plaudit-radius,14px);
box-shadow:0 20px 50px rgba(0,0,0,.3);outline:none;animation:rise .18s ease-out}
.card{background:var(--plaudit-bg);color:var(--plaudit-text);border:1px solid rgba(127,127,127,.3);border-radius:var(--plaudit-radius,14px)}
.panel{padding:24px}
.dialog .panel{min-height:0;overflow:auto;overscroll-behavior:contain}
h2{margin:0 40px 6px 0;font-size:1.3em;line-height:1.3;font-weight:700}
.card h2{margin-right:0}
h3{margin:20px 0 8px;font-size:.95em;font-weight:700}
p{margin:0 0 10px}
.close{position:absolute;top:10px;right:10px;width:36px;height:36px;display:flex;align-items:center;justify-content:center;
z-index:1;border:0;border-radius:50%;background:var(--plaudit-bg);color:inherit;font:inherit;font-size:24px;line-height:1;cursor:pointer}
.close:hover{background:rgba(127,127,127,.18)}
label{display:block;margin:16px 0 6px;font-size:.875em;font-weight:600}
.row{display:flex;gap:8px}
input{flex:1;min-width:0;padding:10px 12px;font:inherit;color:inherit;background:transparent;border:1px solid rgba(127,127,127,.5);border-radius:8px}
.btn{padding:10px 16px;font:inherit;font-weight:600;white-space:nowrap;border:0;border-radius:8px;cursor:pointer;
background:var(--plaudit-primary);color:var(--plaudit-on-primary)}
.btn:hover{filter:brightness(1.08)}
.btn.quiet{background:transparent;color:var(--plaudit-primary);border:1px solid currentColor}
:focus-visible{outline:3px solid var(--plaudit-primary);outline-offset:2px}
.dialog:focus-visible{outline:none}
.share{display:grid;grid-template-columns:repeat(4,1fr);gap:8px}
.share a{display:flex;align-items:center;justify-content:center;min-height:40px;padding:8px 6px;color:inherit;font-size:.875em;
font-weight:600;text-decoration:none;border:1px solid rgba(127,127,127,.4);border-radius:8px}
.share a:hover{color:var(--plaudit-primary);border-color:var(--plaudit-primary)}
.stats{display:grid;grid-template-columns:repeat(3,1fr);gap:8px;margin:0}
.stat{display:flex;flex-direction:column-reverse;align-items:center;padding:10px 4px;border-radius:8px;background:rgba(127,127,127,.12)}
.stat dd{margin:0;font-size:1.4em;font-weight:700;line-height:1.2}
.stat dt{font-size:.8em;opacity:.8}
ul{margin:8px 0 0;padding:0;list-style:none}
li{display:flex;justify-content:space-between;gap:12px;padding:6px 0;font-size:.9em;border-top:1px solid rgba(127,127,127,.25)}
.muted{opacity:.75}
.error{padding:12px 14px;border-radius:8px;background:rgba(220,38,38,.1)}
.tabs{display:flex;gap:4px;margin:8px 0 16px;border-bottom:1px solid rgba(127,127,127,.3)}
.tab{margin-bottom:-1px;padding:8px 12px;font:inherit;font-weight:600;color:inherit;background:none;border:0;
border-bottom:3px solid transparent;cursor:pointer;opacity:.8}
.tab[aria-selected=true]{opacity:1;color:var(--plaudit-primary);border-bottom-color:currentColor}
.big{font-size:2em;font-weight:700;line-height:1.1}
.chip{display:inline-block;margin-left:8px;padding:2px 10px;border-radius:999px;font-size:.8em;font-weight:700;vertical-align:middle;
background:rgba(127,127,127,.15)}
progress{display:block;width:100%;height:8px;margin:10px 0 4px;border:0;border-radius:999px;overflow:hidden;-webkit-appearance:none;
appearance:none;background:rgba(127,127,127,.2);color:var(--plaudit-primary)}
progress::-webkit-progress-bar{background:transparent}
progress::-webkit-progress-value{background:var(--plaudit-primary)}
progress::-moz-progress-bar{background:var(--plaudit-primary)}
li.item{align-items:center}
.small{font-size:.85em}
.sub{display:block;font-size:.85em;opacity:.75}
.end{display:flex;flex-direction:column;align-items:flex-end;gap:2px;text-align:right}
.btn.small{padding:6px 12px}
.btn[disabled]{cursor:not-allowed;opacity:.5;filter:none}
.btn[aria-disabled=true]{cursor:progress;opacity:.7}
.note{padding:12px 14px;border-radius:8px;background:rgba(127,127,127,.12)}
.note:focus{outline:none}
.confirm{padding:16px;border:2px solid var(--plaudit-primary);border-radius:8px}
.confirm h3{margin-top:0}
.badges{display:grid;grid-template-columns:repeat(auto-fill,minmax(96px,1fr));gap:8px}
.badges li{flex-direction:column;align-items:center;gap:2px;padding:10px 6px;text-align:center;border:0;border-radius:8px;background:rgba(127,127,127,.12)}
.badges .locked .icon{filter:grayscale(1);opacity:.45}
.icon{font-size:1.6em;line-height:1.2}
.seg{display:flex;flex-wrap:wrap;gap:6px;margin-bottom:8px}
.seg .btn{padding:4px 10px;font-size:.85em}
.seg .btn[aria-pressed=false]{background:transparent;color:inherit;border:1px solid rgba(127,127,127,.4)}
ol{margin:8px 0 0;padding:0;list-style:none}
li[aria-current]{font-weight:700}
.rank{display:inline-block;min-width:2em;opacity:.75}
.code{flex:1;min-width:0;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;letter-spacing:.04em}
.code.large{font-size:1.3em;font-weight:700}
.code-row{margin-top:6px}
li.wrap{flex-wrap:wrap;row-gap:0}
li.wrap .code-row{flex-basis:100%;margin-top:0}
.live{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:480px){.backdrop{padding:0;align-items:flex-end}
.dialog{max-width:none;max-height:100vh;max-height:100dvh;border-radius:14px 14px 0 0}
.panel{padding:20px 16px}.share{grid-template-columns:repeat(2,1fr)}}
@media (prefers-reduced-motion:reduce){.backdrop,.dialog{animation:none}}
@keyframes fade{from{opacity:0}}
@keyframes rise{from{opacity:0;transform:translateY(12px)}}
`;

  // --- where the API is: the origin this script came from ---------------------------------------
  const script =
    d.currentScript ||
    [...d.getElementsByTagName("script")].reverse().find((s) => /\/widget\.js([?#]|$)/.test(s.src));
  const SCRIPT_BASE = script && script.src ? new URL(script.src, location.href).origin : location.origin;

  function apiBase(given) {
    if (!given) return SCRIPT_BASE;
    try {
      const url = new URL(String(given), location.href);
      if (url.protocol === "http:" || url.protocol === "https:") {
        return (url.origin + url.pathname).replace(/\/+$/, "");
      }
    } catch (_) {
      /* fall through */
    }
    warn("api_base is not an http(s) URL; using " + SCRIPT_BASE);
    return SCRIPT_BASE;
  }

  function warn(message) {
    if (w.console) w.console.warn("Plaudit: " + message); // never with a token in it
  }

  // --- small helpers ---------------------------------------------------------------------------
  function h(tag, attrs, ...kids) {
    const el = d.createElement(tag);
    for (const key in attrs || {}) {
      const value = attrs[key];
      if (value != null && value !== false) el.setAttribute(key, value === true ? "" : String(value));
    }
    el.append(...kids.flat(3).filter((kid) => kid != null && kid !== false));
    return el;
  }

  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (m, k) => (k in values ? values[k] : m));

  function pickLocale(wanted) {
    const tags = [wanted, ...(navigator.languages || []), navigator.language].filter(Boolean);
    for (const tag of tags) {
      const lower = String(tag).toLowerCase();
      const lang = STRINGS[lower] ? lower : lower.split(/[-_]/)[0];
      if (STRINGS[lang]) {
        try {
          return { lang, tag: Intl.getCanonicalLocales(String(tag).replace("_", "-"))[0] };
        } catch (_) {
          return { lang, tag: lang };
        }
      }
    }
    return { lang: "en", tag: "en" };
  }

  const COLOR = /^(#[0-9a-f]{3,8}|(rgb|hsl)a?\([\d\s.,%/-]+\)|[a-z]{3,20})$/i;

  function onColor(hex) {
    const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(hex || "");
    if (!m) return null;
    const full = m[1].length === 3 ? m[1].replace(/./g, "$&$&") : m[1];
    const [r, g, b] = [0, 2, 4].map((i) => {
      const c = parseInt(full.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.4 ? "#111827" : "#ffffff";
  }

  function themeCss(theme) {
    const t = theme || {};
    const props = [];
    for (const [key, name] of [["primary", "primary"], ["background", "bg"], ["text", "text"]]) {
      if (typeof t[key] === "string" && COLOR.test(t[key].trim())) props.push(`--plaudit-${name}:${t[key].trim()}`);
    }
    const on = onColor(t.primary);
    if (on) props.push(`--plaudit-on-primary:${on}`);
    return props.length ? `:host{${props.join(";")}}` : "";
  }

  let baseSheet;
  function styleRoot(root) {
    if (baseSheet === undefined) {
      try {
        baseSheet = new CSSStyleSheet();
        baseSheet.replaceSync(CSS);
      } catch (_) {
        baseSheet = null;
      }
    }
    if (baseSheet && "adoptedStyleSheets" in root) {
      // Constructed sheets are CSSOM, not inline styles: a strict style-src CSP allows them.
      const theme = new CSSStyleSheet();
      root.adoptedStyleSheets = [baseSheet, theme];
      return (css) => theme.replaceSync(css);
    }
    const theme = h("style");
    root.append(h("style", null, CSS), theme);
    return (css) => {
      theme.textContent = css;
    };
  }

  function deepActive() {
    let el = d.activeElement;
    while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
    return el;
  }

  // --- the API calls ---------------------------------------------------------------------------
  const AUTH_ERRORS = /^(missing_token|invalid_token|invalid_signature|unknown_key|key_disabled|token_revoked|token_not_yet_valid|insufficient_permissions|unknown_product|invalid_claim|invalid_issuer|invalid_audience|missing_required_claim)$/;
  const RETRYABLE = /^(network_error|server_error)$/;
  const VIEWS = ["referral", "loyalty"];
  const BOARDS = ["all-time", "month", "week"];
  const HISTORY_PAGE = 10;

  /** One call: GET, or POST with `send` as its JSON body; `check` says a 2xx body is the right shape. */
  async function request(cfg, lang, path, check, send) {
    const headers = { Authorization: "Bearer " + cfg.token, Accept: "application/json", "Accept-Language": lang };
    if (cfg.product) headers["X-Plaudit-Product"] = cfg.product;
    if (send) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(cfg.api + path, {
        method: send ? "POST" : "GET",
        headers,
        body: send ? JSON.stringify(send) : undefined,
        credentials: "omit",
        cache: "no-store",
      });
    } catch (_) {
      return { ok: false, code: "network_error", message: "The Plaudit API could not be reached (network or CORS).", status: 0 };
    }
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      /* not JSON */
    }
    if (response.ok && body && check(body)) return { ok: true, data: body };
    if (body && typeof body.error === "string") {
      return { ok: false, code: body.error, message: String(body.message || ""), hint: body.hint, status: response.status };
    }
    const code = response.status >= 500 ? "server_error" : "unexpected_response";
    return { ok: false, code, message: `The Plaudit API answered HTTP ${response.status}.`, status: response.status };
  }

  /** request(); on token_expired ask refresh() for a new token and retry once. Calls made at
   * the same time with the same expired token share one refresh. */
  async function call(cfg, lang, path, check, send) {
    const used = cfg.token;
    let result = await request(cfg, lang, path, check, send);
    if (!result.ok && result.code === "token_expired" && typeof cfg.refresh === "function") {
      if (cfg.token === used) {
        cfg.renewing = cfg.renewing || renew(cfg).finally(() => (cfg.renewing = null));
        await cfg.renewing;
      }
      if (cfg.token !== used) result = await request(cfg, lang, path, check, send);
    }
    return result;
  }

  async function renew(cfg) {
    let token = null;
    try {
      token = await cfg.refresh();
      if (token && typeof token === "object") token = token.token;
    } catch (_) {
      token = null;
    }
    if (typeof token === "string" && token) cfg.token = token;
  }

  const isList = (key) => (body) => Array.isArray(body[key]);

  /** Which views, in tab order: `tabs` true means both, the loaded one first. */
  function viewList(first, tabs) {
    let list = tabs === true ? [first, ...VIEWS] : Array.isArray(tabs) ? [...tabs] : typeof tabs === "string" ? tabs.split(/[\s,]+/) : [];
    list = list.filter((name, i) => {
      if (!VIEWS.includes(name)) {
        if (name) warn(`unknown view ${JSON.stringify(name)}; views are ${VIEWS.join(", ")}.`);
        return false;
      }
      return list.indexOf(name) === i;
    });
    if (first && !list.includes(first)) list.unshift(first);
    return list.length ? list : ["referral"];
  }

  /** A copy of `record` without `key`. */
  function without(record, key) {
    if (!record || typeof record !== "object" || !(key in record)) return record;
    const copy = Object.assign({}, record);
    delete copy[key];
    return copy;
  }

  /** The loyalty data as the host page gets it (events, promises): reward codes are the user's
   * secret, shown in the user's own view and handed to no script of the page. */
  function withoutCodes(data) {
    const history = data.history && Object.assign({}, data.history, { entries: data.history.entries.map((e) => without(e, "reward_code")) });
    return Object.assign({}, data, { history });
  }

  /** "2026-12-06": the device's day, as the API writes a streak's last_day. */
  function localDay(when) {
    return [when.getFullYear(), when.getMonth() + 1, when.getDate()].map((n, i) => String(n).padStart(i ? 2 : 4, "0")).join("-");
  }

  function randomId() {
    return "w_" + [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
  }

  // --- the panel: shared by the modal and <plaudit-widget> -------------------------------------
  class View {
    constructor(host, modal) {
      this.host = host;
      this.modal = modal;
      this.root = host.shadowRoot || host.attachShadow({ mode: "open" });
      this.setTheme = styleRoot(this.root);
      this.panel = h("div", { class: "panel", part: "panel", "data-plaudit": "panel" });
      // One live region for results, there from the start so that screen readers watch it.
      this.live = h("div", { class: "live", role: "status", "data-plaudit": "announce" });
      this.cfg = null;
      this.views = ["referral"];
      this.active = "referral";
      this.reset();
      this.shown = "";
      this.loc = pickLocale();
      this.t = STRINGS[this.loc.lang];
      this.root.addEventListener("click", (event) => this.click(event));
      this.root.addEventListener("keydown", (event) => this.keydown(event));
    }

    reset() {
      const seq = this.seq || {};
      this.seq = {};
      this.states = {};
      for (const name of VIEWS) {
        this.seq[name] = (seq[name] || 0) + 1; // supersedes whatever was on its way
        this.states[name] = { status: "idle" };
      }
      this.ui = { board: "all-time", confirm: null, note: null };
    }

    /** New options (token, locale, …): forget every view's data, load `first` and the other tabs. */
    configure(cfg, first, views) {
      this.cfg = cfg;
      this.loc = pickLocale(cfg.locale);
      this.t = STRINGS[this.loc.lang];
      this.shown = "";
      this.reset();
      this.views = views;
      this.active = first;
      const loading = this.load(first, false);
      for (const name of views) if (name !== first) this.load(name, false);
      return loading;
    }

    /** Show `name`: its tab if it has one, else it alone; load it if nothing has yet. */
    select(name, focusTab) {
      if (!this.views.includes(name)) this.views = [name];
      const changed = name !== this.active;
      this.active = name;
      if (changed && this.ui.confirm && !this.ui.confirm.busy) this.ui.confirm = null;
      if (focusTab) this.focusNext = [["tab-" + name]];
      if (this.states[name].status === "idle") this.load(name, false);
      else this.render();
    }

    async load(name, quiet) {
      const cfg = this.cfg;
      if (!cfg) return undefined;
      const seq = ++this.seq[name];
      if (!quiet) this.setState(name, { status: "loading" });
      const result = name === "loyalty" ? await this.fetchLoyalty(cfg) : await call(cfg, this.loc.lang, "/v1/referrals/me", (b) => typeof b.link === "string");
      const shared = result.ok ? (name === "loyalty" ? withoutCodes(result.data) : result.data) : undefined;
      if (seq !== this.seq[name] || cfg !== this.cfg) return shared; // superseded
      if (result.ok) {
        this.setState(name, { status: "ready", data: result.data });
        if (!quiet) this.emit("ready", Object.assign({ view: name }, shared));
        return shared;
      }
      if (!(quiet && RETRYABLE.test(result.code))) this.fail(result, name); // a background refresh keeps what it showed
      return undefined;
    }

    /** /v1/me, the catalog, a page of history and a leaderboard, at once. The first two must
     * answer; history and the board each show "can't be shown" on their own when they fail. */
    async fetchLoyalty(cfg) {
      const get = (path, check) => call(cfg, this.loc.lang, path, check);
      const [me, catalog, history, board] = await Promise.all([
        get("/v1/me", (b) => b.points && typeof b.points.balance === "number"),
        get("/v1/rewards", isList("rewards")),
        get("/v1/me/history?limit=" + HISTORY_PAGE, isList("entries")),
        get(`/v1/leaderboards/${this.ui.board}?limit=10`, isList("entries")),
      ]);
      if (!me.ok) return me;
      if (!catalog.ok) return catalog;
      const data = Object.assign({}, me.data, { rewards: catalog.data.rewards });
      data.history = history.ok ? history.data : null;
      data.board = board.ok ? board.data : null;
      return { ok: true, data };
    }

    fail(result, name) {
      this.setState(name, { status: "error", error: result });
      this.emit("error", { code: result.code, message: result.message || "", view: name });
    }

    setState(name, state) {
      this.states[name] = state;
      if (state.data) this.setTheme(themeCss(state.data.product && state.data.product.theme));
      this.render();
    }

    emit(type, detail) {
      this.host.dispatchEvent(new CustomEvent("plaudit:" + type, { detail, bubbles: true, composed: true }));
    }

    announce(text) {
      this.live.textContent = "";
      setTimeout(() => (this.live.textContent = text), 50); // a change, even when the text repeats
    }

    num(value) {
      try {
        return new Intl.NumberFormat(this.loc.tag).format(Number(value) || 0);
      } catch (_) {
        return String(Number(value) || 0);
      }
    }

    unit(value) {
      let one;
      try {
        one = new Intl.PluralRules(this.loc.tag).select(Number(value) || 0) === "one";
      } catch (_) {
        one = Number(value) === 1;
      }
      return one ? this.t.unit_one : this.t.unit;
    }

    /** t[key + "_one"] when `n` is singular in this language and the language has it, else t[key]. */
    plural(key, n) {
      let one;
      try {
        one = new Intl.PluralRules(this.loc.tag).select(Number(n) || 0) === "one";
      } catch (_) {
        one = Number(n) === 1;
      }
      return (one && this.t[key + "_one"]) || this.t[key];
    }

    /** "1 point", "1.250 Punkte", "0.5 points" */
    pts(value) {
      return this.num(value) + " " + this.unit(value);
    }

    date(value) {
      const when = new Date(value);
      if (isNaN(when)) return "";
      try {
        return new Intl.DateTimeFormat(this.loc.tag, { dateStyle: "medium" }).format(when);
      } catch (_) {
        return when.toDateString();
      }
    }

    /** "Dec 12", "12. Dez.": a day soon; with the year when it is not this year's. */
    day(value) {
      const when = new Date(value);
      if (isNaN(when)) return "";
      const options = { month: "short", day: "numeric" };
      if (when.getFullYear() !== new Date().getFullYear()) options.year = "numeric";
      try {
        return new Intl.DateTimeFormat(this.loc.tag, options).format(when);
      } catch (_) {
        return when.toDateString();
      }
    }

    phrase(kind, amount) {
      const t = this.t;
      return fill(t["kind_" + kind] || t.kind_other, { n: this.num(amount), kind: String(kind || "") });
    }

    title(name, data) {
      const t = this.t;
      const product = data && data.product && data.product.name;
      if (name === "loyalty") return product ? fill(t.titleLoyaltyProduct, { product }) : t.titleLoyalty;
      return product ? fill(t.titleProduct, { product }) : t.title;
    }

    render() {
      const t = this.t;
      const name = this.active;
      const { status, data, error } = this.states[name];
      const kids = [h("h2", { id: "plaudit-title", part: "title", "data-plaudit": "title" }, this.title(name, data))];
      let body;
      if (status === "ready") {
        body = name === "loyalty" ? this.loyalty(data) : this.content(data);
      } else if (status === "error") {
        body = [h("p", { class: "error", role: "alert", part: "error", "data-plaudit": "error" }, this.friendly(error, name))];
        if (RETRYABLE.test(error.code)) body.push(h("button", { type: "button", class: "btn quiet", part: "retry", "data-plaudit": "retry" }, t.retry));
      } else {
        body = [h("p", { class: "muted", role: "status", part: "loading", "data-plaudit": "loading" }, name === "loyalty" ? t.loadingLoyalty : t.loading)];
      }
      if (this.views.length > 1) {
        kids.push(
          h(
            "div",
            { class: "tabs", role: "tablist", "aria-label": t.tabs, part: "tabs" },
            this.views.map((view) =>
              h(
                "button",
                {
                  type: "button",
                  role: "tab",
                  id: "plaudit-tab-" + view,
                  class: "tab",
                  part: "tab",
                  "aria-selected": String(view === name),
                  "aria-controls": "plaudit-tabpanel",
                  tabindex: view === name ? "0" : "-1",
                  "data-plaudit": "tab-" + view,
                },
                t["tab_" + view],
              ),
            ),
          ),
          h("div", { role: "tabpanel", id: "plaudit-tabpanel", "aria-labelledby": "plaudit-tab-" + name, part: "tabpanel", "data-plaudit": "tabpanel" }, body),
        );
      } else {
        kids.push(...body);
      }
      const key = [status, this.loc.tag, this.views, name, status === "ready" ? JSON.stringify([data, this.ui]) : error ? error.code : ""].join("\n");
      const active = this.root.activeElement;
      const wanted = this.focusNext || (active && this.panel.contains(active) ? [[active.getAttribute("data-plaudit"), active.getAttribute("data-id")]] : null);
      this.focusNext = null;
      if (key !== this.shown) {
        // Only when something changed: else keep the DOM (and focus, and "Copied!").
        this.shown = key;
        this.panel.setAttribute("lang", this.loc.lang);
        this.panel.replaceChildren(...kids.flat(3).filter(Boolean));
      }
      if (wanted) this.focus(wanted);
      if (this.modal) this.closeButton.setAttribute("aria-label", t.close);
    }

    /** Focus the first of [data-plaudit, data-id] pairs that can take it; else the dialog. */
    focus(wanted) {
      for (const [key, id] of wanted) {
        if (!key) continue;
        const el = this.panel.querySelector(`[data-plaudit="${key}"]` + (id ? `[data-id="${w.CSS.escape(id)}"]` : ""));
        if (el && !el.disabled) {
          el.focus();
          if (this.root.activeElement === el) return;
        }
      }
      if (this.modal && this.isOpen && !this.panel.contains(this.root.activeElement)) this.dialog.focus();
    }

    friendly(error, name) {
      const t = this.t;
      const loyal = name === "loyalty";
      if (error.code === "token_expired") return t.errorExpired;
      if (error.code === "network_error") return loyal ? t.errorNetworkLoyalty : t.errorNetwork;
      if (AUTH_ERRORS.test(error.code) || error.status === 401 || error.status === 403) return t.errorAuth;
      return loyal ? t.errorGenericLoyalty : t.errorGeneric;
    }

    content(data) {
      const t = this.t;
      const product = (data.product && data.product.name) || "";
      const link = data.link;
      const reward = data.reward || {};
      const event = t["event_" + reward.on] || t.event_conversion;
      const first = data.user && data.user.first_name;

      // The server's share text, when it is in this language; else the widget's own.
      const share = data.share || {};
      const sameLang = share.locale ? String(share.locale).toLowerCase().split("-")[0] === this.loc.lang : this.loc.lang === "en";
      const subject = (sameLang && share.subject) || fill(t.shareSubject, { product });
      let text = (sameLang && share.text) || fill(t.shareText, { product, link });
      if (!text.includes(link)) text += " " + link;
      const bare = text.replace(link, "").trim();
      const enc = encodeURIComponent;
      const networks = [
        ["email", `mailto:?subject=${enc(subject)}&body=${enc(text)}`, t.shareEmail],
        ["x", `https://twitter.com/intent/tweet?text=${enc(bare)}&url=${enc(link)}`],
        ["linkedin", `https://www.linkedin.com/sharing/share-offsite/?url=${enc(link)}`],
        ["whatsapp", `https://wa.me/?text=${enc(text)}`],
      ];

      const stats = data.stats || {};
      // reward_totals counts granted rewards only: a pending one (held or in its hold days)
      // is listed, marked, and not counted until it is granted.
      const totals = Object.entries(data.reward_totals || {}).filter(([, amount]) => amount);
      const rewards = Array.isArray(data.rewards) ? data.rewards : [];
      const waiting = (item) => item.status === "pending" || item.status === "held";

      return [
        first ? h("p", { part: "greeting", "data-plaudit": "greeting" }, fill(t.greeting, { name: first })) : null,
        h(
          "p",
          { class: "muted", part: "reward", "data-plaudit": "reward" },
          reward.amount > 0
            ? fill(t.reward, { product, reward: this.phrase(reward.kind, reward.amount), event })
            : fill(t.rewardNone, { product }),
        ),
        h("label", { for: "plaudit-link", part: "label" }, t.linkLabel),
        h(
          "div",
          { class: "row" },
          h("input", { id: "plaudit-link", type: "text", readonly: true, value: link, part: "link", "data-plaudit": "link", spellcheck: "false" }),
          h("button", { type: "button", class: "btn", part: "copy", "data-plaudit": "copy" }, t.copy),
        ),
        h("span", { class: "live", role: "status", "data-plaudit": "copy-status" }),
        h("h3", { part: "heading" }, t.shareTitle),
        h(
          "div",
          { class: "share", part: "share", "data-plaudit": "share" },
          networks.map(([key, href, label]) =>
            h(
              "a",
              {
                href,
                // mailto opens the mail app; a new tab for it would stay blank
                target: key === "email" ? null : "_blank",
                rel: "noopener noreferrer",
                part: "share-link",
                "data-plaudit": "share-" + key,
                "aria-label": label || fill(t.shareOn, { network: t[key] }),
              },
              t[key],
            ),
          ),
        ),
        h("h3", { part: "heading" }, t.statsTitle),
        h(
          "dl",
          { class: "stats", part: "stats", "data-plaudit": "stats" },
          ["clicks", "signups", "conversions"].map((key) =>
            h(
              "div",
              { class: "stat", part: "stat" },
              h("dt", { part: "stat-label" }, t[key]),
              h("dd", { part: "stat-value", "data-plaudit": "stat-" + key }, this.num(stats[key])),
            ),
          ),
        ),
        h("h3", { part: "heading" }, t.rewardsTitle),
        totals.length
          ? h(
              "p",
              { part: "reward-totals", "data-plaudit": "reward-totals" },
              fill(t.total, { rewards: totals.map(([kind, amount]) => this.phrase(kind, amount)).join(", ") }),
            )
          : rewards.length
            ? null
            : h("p", { class: "muted", part: "rewards-empty", "data-plaudit": "rewards-empty" }, fill(t.rewardsNone, { event })),
        rewards.length
          ? h(
              "ul",
              { part: "rewards", "data-plaudit": "rewards" },
              rewards.map((item) =>
                h(
                  "li",
                  { part: "reward-item", "data-plaudit": "reward-item", "data-status": item.status || null },
                  h(
                    "span",
                    null,
                    "+" + this.phrase(item.kind, item.amount),
                    waiting(item)
                      ? h(
                          "span",
                          { class: "sub", part: "reward-pending", "data-plaudit": "reward-pending" },
                          item.available_at ? fill(t.rewardPendingUntil, { date: this.day(item.available_at) }) : t.rewardPending,
                        )
                      : null,
                  ),
                  h("span", { class: "muted" }, this.date(item.created_at)),
                ),
              ),
            )
          : null,
      ];
    }

    // --- the loyalty view ----------------------------------------------------------------------
    loyalty(data) {
      const t = this.t;
      const ui = this.ui;
      const balance = data.points.balance;
      if (ui.confirm) return [this.confirmStep(ui.confirm, balance)];
      const { tier, next_tier: next } = data;
      const first = data.user && data.user.first_name;
      const list = (key, items, make, tag) => h(tag || "ul", { part: key, "data-plaudit": key, tabindex: key === "history" ? "-1" : null }, items.map(make));
      const heading = (text) => h("h3", { part: "heading" }, text);
      const rewards = data.rewards;
      const rules = data.ways_to_earn || [];
      const badges = data.badges || [];
      const earned = badges.filter((b) => b.awarded_at).length;
      const board = data.board;
      const history = data.history;
      const mine = board && board.me;
      return [
        first ? h("p", { part: "greeting", "data-plaudit": "greeting" }, fill(t.greeting, { name: first })) : null,
        h("p", { class: "muted small", part: "balance-label" }, t.balance),
        h(
          "p",
          { part: "balance" },
          h("span", { class: "big", "data-plaudit": "balance" }, this.num(balance)),
          " " + this.unit(balance),
          tier ? h("span", { class: "chip", part: "tier", "data-plaudit": "tier" }, fill(t.tierNow, { tier: tier.name })) : null,
        ),
        this.pointsNotes(data.points),
        next
          ? [
              h("progress", {
                max: "100",
                value: String(Math.round(Math.min(1, Math.max(0, Number(next.progress) || 0)) * 100)),
                "aria-label": fill(t.tierProgress, { tier: next.name }),
                part: "progress",
                "data-plaudit": "tier-progress",
              }),
              h("p", { class: "muted small", part: "tier-next", "data-plaudit": "tier-next" }, fill(t.tierNext, { points: this.pts(next.points_needed), tier: next.name })),
            ]
          : tier
            ? h("p", { class: "muted small", part: "tier-next", "data-plaudit": "tier-next" }, t.tierTop)
            : null,
        this.keepTier(tier, data.tier_status),

        heading(t.redeemTitle),
        ui.note
          ? h(
              "p",
              { class: ui.note.ok ? "note" : "error", tabindex: "-1", part: "redeem-result", "data-plaudit": "redeem-result" },
              ui.note.text,
              ui.note.message ? [" ", h("span", { lang: "en" }, ui.note.message)] : null,
            )
          : null,
        ui.note && ui.note.code
          ? [
              h("label", { for: "plaudit-code", part: "label" }, t.codeLabel),
              this.codeRow(ui.note.code, ui.note.what, { id: "plaudit-code", large: true }),
            ]
          : null,
        rewards.length
          ? list("rewards", rewards, (r) => {
              const short = r.cost - balance;
              const why = !r.available ? t.soldOut : short > 0 ? fill(t.needMore, { points: this.pts(short) }) : "";
              const stock = r.stock != null && r.available ? " · " + fill(t.left, { n: this.num(r.stock) }) : "";
              return h(
                "li",
                { class: "item", part: "reward-item", "data-plaudit": "reward-item", "data-id": r.id },
                h(
                  "span",
                  null,
                  h("strong", { "data-plaudit": "reward-name" }, r.name),
                  r.description ? h("span", { class: "sub" }, r.description) : null,
                  h("span", { class: "sub", "data-plaudit": "reward-cost" }, this.pts(r.cost) + stock),
                ),
                h(
                  "span",
                  { class: "end" },
                  h(
                    "button",
                    { type: "button", class: "btn small", part: "redeem", "data-plaudit": "redeem", "data-id": r.id, disabled: !!why, "aria-label": fill(t.redeemName, { reward: r.name }) },
                    t.redeem,
                  ),
                  why ? h("span", { class: "muted small", "data-plaudit": "reward-why" }, why) : null,
                ),
              );
            })
          : h("p", { class: "muted" }, t.rewardsEmptyLoyalty),

        rules.length ? heading(t.earnTitle) : null,
        rules.length
          ? list("earn", rules, (rule) => {
              let what = rule.points != null ? "+" + this.pts(rule.points) : fill(t.earnRate, { points: this.pts(rule.rate), property: rule.property });
              if (rule.once) what += " · " + t.earnOnce;
              else if (rule.limit_per_day) what += " · " + fill(t.earnDaily, { n: this.num(rule.limit_per_day) });
              return h("li", { part: "earn-item", "data-plaudit": "earn-item" }, h("span", null, rule.name), h("span", { class: "muted" }, what));
            })
          : null,

        this.streaks(data, heading),

        badges.length ? [heading(t.badgesTitle), h("p", { class: "muted small", "data-plaudit": "badges-count" }, fill(t.badgesCount, { n: this.num(earned), total: this.num(badges.length) }))] : null,
        badges.length
          ? h(
              "ul",
              { class: "badges", part: "badges", "data-plaudit": "badges" },
              badges.map((b) =>
                h(
                  "li",
                  { class: b.awarded_at ? "earned" : "locked", part: "badge", "data-plaudit": "badge", "data-id": b.id, title: b.description || null },
                  h("span", { class: "icon", "aria-hidden": "true" }, b.icon || "🏅"),
                  h("strong", { class: "small" }, b.name),
                  h("span", { class: "sub", "data-plaudit": "badge-state" }, b.awarded_at ? fill(t.badgeEarned, { date: this.date(b.awarded_at) }) : t.badgeLocked),
                ),
              ),
            )
          : null,

        heading(t.boardTitle),
        h(
          "div",
          { class: "seg", role: "group", "aria-label": t.boardTitle, part: "periods" },
          BOARDS.map((b) =>
            h("button", { type: "button", class: "btn", part: "period", "aria-pressed": String(b === ui.board), "data-plaudit": "period-" + b }, t["board_" + b]),
          ),
        ),
        !board
          ? h("p", { class: "muted" }, t.sectionError)
          : board.entries.length
            ? list(
                "leaderboard",
                board.entries,
                (e) =>
                  h(
                    "li",
                    { part: "board-entry", "data-plaudit": "board-entry", "aria-current": e.me ? "true" : null },
                    h("span", null, h("span", { class: "rank" }, this.num(e.rank) + "."), e.display_name + (e.me ? " " + t.you : "")),
                    h("span", null, this.pts(e.points)),
                  ),
                "ol",
              )
            : h("p", { class: "muted" }, t.boardEmpty),
        board && mine && !board.entries.some((e) => e.me)
          ? h("p", { class: "muted small", "data-plaudit": "board-me" }, mine.rank ? fill(t.boardMe, { rank: this.num(mine.rank), points: this.pts(mine.points) }) : t.boardUnranked)
          : null,

        heading(t.historyTitle),
        !history
          ? h("p", { class: "muted" }, t.sectionError)
          : history.entries.length
            ? list("history", history.entries, (e) =>
                h(
                  "li",
                  { class: e.reward_code ? "wrap" : null, part: "history-item", "data-plaudit": "history-item" },
                  h("span", null, e.reason, h("span", { class: "sub" }, this.date(e.created_at)), this.entryNotes(e)),
                  h("span", { "data-plaudit": "history-delta" }, (e.delta < 0 ? "−" : "+") + this.pts(Math.abs(e.delta))),
                  e.reward_code ? this.codeRow(e.reward_code, e.reason, {}) : null, // a line of its own
                ),
              )
            : h("p", { class: "muted" }, t.historyEmpty),
        history && history.next_before ? h("button", { type: "button", class: "btn quiet small", part: "more", "data-plaudit": "history-more" }, t.more) : null,
      ];
    }

    /** Under the balance: points on hold and the next expiry, when the API sends them. */
    pointsNotes(points) {
      const t = this.t;
      const release = points.next_release;
      const expiry = points.next_expiry;
      let pending = null;
      if (points.pending > 0) {
        pending = fill(t.pending, { points: this.pts(points.pending) });
        if (release && release.at) {
          const date = this.day(release.at);
          pending += " · " + (release.points === points.pending ? fill(t.releaseAll, { date }) : fill(t.releasePart, { points: this.pts(release.points), date }));
        }
      }
      const expiring = expiry && expiry.points > 0 && expiry.at ? fill(this.plural("expiry", expiry.points), { points: this.pts(expiry.points), date: this.day(expiry.at) }) : null;
      return [
        ["points-pending", pending],
        ["points-expiry", expiring],
      ].map(([key, text]) => (text ? h("p", { class: "muted small", part: key, "data-plaudit": key }, text) : null));
    }

    /** A tier held by a rolling window, at risk at its review: what it takes to keep it. */
    keepTier(tier, status) {
      const short = tier && status && status.review_at ? tier.threshold - (Number(status.qualifying_points) || 0) : 0;
      if (!(short > 0)) return null;
      return h("p", { class: "muted small", part: "tier-keep", "data-plaudit": "tier-keep" }, fill(this.t.keepTier, { tier: tier.name, n: this.num(short), unit: this.unit(short), date: this.day(status.review_at) }));
    }

    /** The streaks of the ways to earn that can repeat, by the rule's name, once one reached two
     * days: one day is no streak yet, and an event type without a rule is the tenant's own
     * business. "Today" is the device's day (the API counts the product's zone's: they can differ
     * for a few hours around midnight). */
    streaks(data, heading) {
      const t = this.t;
      const names = new Map();
      for (const rule of data.ways_to_earn || []) if (!rule.once && !names.has(rule.event_type)) names.set(rule.event_type, rule.name);
      const shown = (data.streaks || []).filter((s) => names.has(s.event_type) && s.best > 1);
      if (!shown.length) return null;
      const today = localDay(new Date());
      return [
        heading(t.streaksTitle),
        h(
          "ul",
          { part: "streaks", "data-plaudit": "streaks" },
          shown.map((s) =>
            h(
              "li",
              { class: "item", part: "streak", "data-plaudit": "streak", "data-id": s.event_type },
              h(
                "span",
                null,
                names.get(s.event_type),
                s.best > s.current ? h("span", { class: "sub", "data-plaudit": "streak-best" }, fill(this.plural("streakBest", s.best), { n: this.num(s.best) })) : null,
              ),
              h(
                "span",
                { class: "end" },
                h("strong", { "data-plaudit": "streak-current" }, s.current > 0 ? fill(this.plural("streakDays", s.current), { n: this.num(s.current) }) : t.streakNone),
                s.current > 0 ? h("span", { class: "small muted", "data-plaudit": "streak-today" }, String(s.last_day) >= today ? t.streakToday : t.streakOpen) : null,
              ),
            ),
          ),
        ),
      ];
    }

    /** A history entry's hold, expiry and fulfilment, when the API sends them. A lot's hold
     * and expiry concern only what is left of it: a lot spent (or reversed) to nothing keeps
     * its dates in the ledger, and says nothing here. */
    entryNotes(e) {
      const t = this.t;
      const ahead = (at) => !!at && new Date(at) > new Date() && e.remaining > 0;
      const notes = [
        ["entry-pending", ahead(e.available_at) && fill(t.entryPending, { date: this.day(e.available_at) })],
        ["entry-expires", ahead(e.expires_at) && fill(t.entryExpires, { date: this.day(e.expires_at) })],
        ["entry-status", e.redemption_status && t["status_" + e.redemption_status]], // "delivered" says nothing
      ];
      return notes.map(([key, text]) => (text ? h("span", { class: "sub", "data-plaudit": key }, text) : null));
    }

    /** A code in a read-only field with a Copy button, as the share link is. */
    codeRow(code, what, { id, large }) {
      const t = this.t;
      return h(
        "span",
        { class: "row code-row" },
        h("input", {
          id,
          type: "text",
          readonly: true,
          value: code,
          class: large ? "code large" : "code",
          "aria-label": id ? null : fill(t.codeFor, { what }),
          spellcheck: "false",
          autocomplete: "off",
          part: "code",
          "data-plaudit": large ? "redeem-code" : "code",
        }),
        h("button", { type: "button", class: "btn small", part: "copy", "data-plaudit": "code-copy", "aria-label": fill(t.copyCodeFor, { what }) }, t.copy),
      );
    }

    confirmStep(c, balance) {
      const t = this.t;
      const r = c.reward;
      const cost = this.pts(r.cost);
      return h(
        "div",
        { class: "confirm", role: "alertdialog", "aria-labelledby": "plaudit-confirm-title", "aria-describedby": "plaudit-confirm-text", part: "confirm", "data-plaudit": "confirm" },
        h("h3", { id: "plaudit-confirm-title" }, fill(t.confirmTitle, { reward: r.name })),
        h("p", { id: "plaudit-confirm-text", "data-plaudit": "confirm-text" }, fill(t.confirmText, { cost, balance: this.pts(balance), after: this.pts(balance - r.cost) })),
        c.error ? h("p", { class: "error", role: "alert", "data-plaudit": "confirm-error" }, c.error) : null,
        h(
          "div",
          { class: "row" },
          h("button", { type: "button", class: "btn", part: "confirm-redeem", "data-plaudit": "confirm-redeem", "aria-disabled": c.busy ? "true" : null }, c.busy ? t.redeeming : fill(t.confirm, { cost })),
          h("button", { type: "button", class: "btn quiet", part: "confirm-cancel", "data-plaudit": "confirm-cancel", "aria-disabled": c.busy ? "true" : null }, t.cancel),
        ),
      );
    }

    ask(id) {
      const data = this.states.loyalty.data;
      const reward = data && data.rewards.find((r) => r.id === id);
      if (!reward) return;
      // One idempotency id per confirmation: trying again after a network failure cannot redeem twice.
      this.ui.confirm = { reward, key: randomId(), busy: false, error: null };
      this.ui.note = null;
      this.focusNext = [["confirm-cancel"]]; // spending is not undone: focus starts on the safe choice
      this.render();
    }

    cancel() {
      const c = this.ui.confirm;
      if (!c || c.busy) return;
      this.ui.confirm = null;
      this.focusNext = [["redeem", c.reward.id]];
      this.render();
    }

    async redeem() {
      const c = this.ui.confirm;
      const cfg = this.cfg;
      if (!c || c.busy || !cfg) return;
      const t = this.t;
      const r = c.reward;
      c.busy = true;
      c.error = null;
      this.render();
      const result = await call(cfg, this.loc.lang, `/v1/rewards/${encodeURIComponent(r.id)}/redeem`, (b) => typeof b.balance === "number", { id: c.key });
      if (cfg !== this.cfg) return; // another user now
      c.busy = false;
      if (!result.ok && RETRYABLE.test(result.code)) {
        c.error = t.failNetwork; // stay: "Redeem" again sends the same idempotency id
        this.render();
        return;
      }
      if (this.ui.confirm === c) this.ui.confirm = null;
      const data = this.states.loyalty.data;
      let text;
      const redemption = (result.ok && result.data.redemption) || {};
      const code = typeof redemption.code === "string" && redemption.code ? redemption.code : null;
      if (result.ok) {
        if (data) data.points.balance = result.data.balance;
        text = fill(t.redeemed, { reward: r.name, balance: this.pts(result.data.balance) });
        if (redemption.status === "pending_fulfilment") {
          const product = data && data.product && data.product.name;
          text += " " + (product ? fill(t.deliverBy, { product }) : t.deliverAnon);
        }
        this.ui.note = { ok: true, text, code, what: r.name };
      } else {
        text = fill(t["fail_" + result.code] || (AUTH_ERRORS.test(result.code) || result.code === "token_expired" ? this.friendly(result) : t.failOther), { reward: r.name });
        this.ui.note = { ok: false, text, message: result.message };
      }
      // Success: back to the reward's button (if it is still on). Failure: to the reason why.
      // A code: to its field, where a screen reader reads it.
      this.focusNext = code ? [["redeem-code"], ["redeem-result"]] : result.ok ? [["redeem", r.id], ["redeem-result"]] : [["redeem-result"]];
      this.render();
      this.announce(text + (result.ok || !result.message ? "" : " " + result.message));
      if (result.ok) this.emit("redeemed", { reward_id: r.id, reward_name: r.name, cost: r.cost, balance: result.data.balance, redemption: without(result.data.redemption, "code") });
      else this.emit("redeem_failed", { reward_id: r.id, code: result.code, message: result.message || "" });
      this.load("loyalty", true); // the new tier, stock, history; after a failure, the balance as it is
    }

    async page(kind) {
      const cfg = this.cfg;
      const data = this.states.loyalty.data;
      if (!cfg || !data) return;
      const lang = this.loc.lang;
      const seq = this.seq.loyalty;
      let result;
      if (kind === "history") {
        result = await call(cfg, lang, `/v1/me/history?limit=${HISTORY_PAGE}&before=${data.history.next_before}`, isList("entries"));
      } else {
        this.ui.board = kind;
        this.render();
        result = await call(cfg, lang, `/v1/leaderboards/${kind}?limit=10`, isList("entries"));
      }
      if (seq !== this.seq.loyalty || cfg !== this.cfg || data !== this.states.loyalty.data) return; // reloaded meanwhile
      if (kind === "history") {
        if (!result.ok) return this.announce(this.t.sectionError);
        data.history = { entries: data.history.entries.concat(result.data.entries), next_before: result.data.next_before };
        this.focusNext = [["history-more"], ["history"]];
      } else {
        if (kind !== this.ui.board) return; // another period was chosen since
        data.board = result.ok ? result.data : null;
      }
      this.render();
    }

    click(event) {
      const target = event.target.closest && event.target.closest("[data-plaudit]");
      const key = target ? target.getAttribute("data-plaudit") : "";
      if (target && target.getAttribute("aria-disabled") === "true") return;
      if (key === "copy" || key === "code-copy") this.copy(target);
      else if (key === "retry") this.load(this.active, false);
      else if (key === "close" && this.modal) this.close();
      else if (key.startsWith("tab-")) this.select(key.slice(4), true);
      else if (key === "redeem") this.ask(target.getAttribute("data-id"));
      else if (key === "confirm-redeem") this.redeem();
      else if (key === "confirm-cancel") this.cancel();
      else if (key === "history-more") this.page("history");
      else if (key.startsWith("period-")) this.page(key.slice(7));
    }

    keydown(event) {
      const key = (event.target.getAttribute && event.target.getAttribute("data-plaudit")) || "";
      if (key.startsWith("tab-")) {
        const at = this.views.indexOf(key.slice(4));
        const n = this.views.length;
        const to = { ArrowRight: at + 1, ArrowLeft: at - 1 + n, Home: 0, End: n - 1 }[event.key];
        if (to === undefined) return;
        event.preventDefault();
        this.select(this.views[to % n], true);
      } else if (!this.modal && (event.key === "Escape" || event.key === "Esc") && this.escape()) {
        event.preventDefault();
      }
    }

    /** Esc during a confirmation cancels it (and not the modal); true if it did anything. */
    escape() {
      if (!this.ui.confirm || this.active !== "loyalty") return false;
      this.cancel();
      return true;
    }

    async copy(button) {
      const t = this.t;
      const input = button.parentNode.querySelector("input"); // the link's or a code's field
      const live = this.panel.querySelector('[data-plaudit="copy-status"]') || this.live;
      if (!input) return;
      let ok = false;
      try {
        if (navigator.clipboard && w.isSecureContext) {
          await navigator.clipboard.writeText(input.value);
          ok = true;
        }
      } catch (_) {
        /* denied: fall back */
      }
      if (!ok) {
        input.focus();
        input.select();
        try {
          ok = d.execCommand("copy");
        } catch (_) {
          ok = false;
        }
      }
      const message = ok ? t.copied : t.copyManual;
      button.textContent = message;
      if (live) live.textContent = message;
      clearTimeout(this.copyTimer);
      this.copyTimer = setTimeout(() => {
        button.textContent = t.copy;
        if (live) live.textContent = "";
      }, 2000);
    }
  }

  // --- the modal -------------------------------------------------------------------------------
  class Modal extends View {
    constructor() {
      super(d.createElement("plaudit-modal"), true);
      this.closeButton = h(
        "button",
        { type: "button", class: "close", part: "close", "data-plaudit": "close", "aria-label": this.t.close },
        h("span", { "aria-hidden": "true" }, "×"),
      );
      this.dialog = h(
        "div",
        { class: "dialog", part: "dialog", role: "dialog", "aria-modal": "true", "aria-labelledby": "plaudit-title", tabindex: "-1", "data-plaudit": "dialog" },
        this.closeButton,
        this.panel,
        this.live,
      );
      this.backdrop = h("div", { class: "backdrop", part: "backdrop", "data-plaudit": "backdrop", hidden: true }, this.dialog);
      this.root.append(this.backdrop);
      this.isOpen = false;
      this.onKey = (event) => this.key(event);
      this.onFocus = (event) => {
        if (this.isOpen && event.target !== this.host) this.dialog.focus();
      };
      // A click closes only when it both started and ended on the backdrop (not a text drag).
      this.backdrop.addEventListener("pointerdown", (event) => {
        this.downOnBackdrop = event.target === this.backdrop;
      });
      this.backdrop.addEventListener("click", (event) => {
        if (event.target === this.backdrop && this.downOnBackdrop) this.close();
        this.downOnBackdrop = false;
      });
      this.render();
      this.attach();
    }

    attach() {
      if (this.host.isConnected) return;
      if (d.body) d.body.append(this.host);
      else d.addEventListener("DOMContentLoaded", () => this.attach(), { once: true });
    }

    emit(type, detail) {
      super.emit(type, detail);
      notify(type, detail);
    }

    /** Open on `name` (a tab, or the only view); fresh data each time it opens. */
    open(name) {
      const status = this.states[name].status;
      if (name !== this.active || !this.views.includes(name)) this.select(name, false);
      if (!this.isOpen) {
        if (!this.host.isConnected) (d.body || d.documentElement).append(this.host);
        this.restore = deepActive();
        this.isOpen = true;
        this.backdrop.hidden = false;
        this.host.setAttribute("open", "");
        const html = d.documentElement.style;
        this.overflow = html.overflow;
        html.overflow = "hidden";
        d.addEventListener("keydown", this.onKey, true);
        d.addEventListener("focusin", this.onFocus, true);
        this.dialog.focus();
        this.emit("open", { view: name });
      }
      if (status === "ready" && !this.ui.confirm) this.load(name, true);
    }

    close() {
      if (!this.isOpen) return;
      this.isOpen = false;
      this.backdrop.hidden = true;
      this.host.removeAttribute("open");
      d.documentElement.style.overflow = this.overflow || "";
      d.removeEventListener("keydown", this.onKey, true);
      d.removeEventListener("focusin", this.onFocus, true);
      if (this.ui.confirm && !this.ui.confirm.busy) {
        this.ui.confirm = null; // reopened, it shows the rewards, not a stale question
        this.render();
      }
      const back = this.restore;
      this.restore = null;
      if (back && back.isConnected && typeof back.focus === "function") back.focus();
      this.emit("close", {});
    }

    focusables() {
      return [...this.dialog.querySelectorAll("a[href],button:not([disabled]),input:not([disabled]),[tabindex]")].filter(
        (el) => el.tabIndex >= 0 && el.getClientRects().length,
      );
    }

    key(event) {
      if (event.key === "Escape" || event.key === "Esc") {
        event.preventDefault();
        event.stopPropagation();
        if (!this.escape()) this.close();
        return;
      }
      if (event.key !== "Tab") return;
      const items = this.focusables();
      if (!items.length) {
        event.preventDefault();
        this.dialog.focus();
        return;
      }
      const at = items.indexOf(this.root.activeElement);
      const edge = event.shiftKey ? at <= 0 : at === -1 || at === items.length - 1;
      if (edge) {
        event.preventDefault();
        items[event.shiftKey ? items.length - 1 : 0].focus();
      }
    }
  }

  // --- <plaudit-widget view="loyalty" product="..." token="..."> : the same panel, inline -------
  class PlauditWidget extends HTMLElement {
    static get observedAttributes() {
      return ["product", "token", "locale", "api-base", "view"];
    }

    connectedCallback() {
      if (!this.view) {
        this.view = new View(this, false);
        this.view.root.append(h("section", { class: "card", part: "card", "aria-labelledby": "plaudit-title" }, this.view.panel, this.view.live));
        this.view.render();
      }
      this.schedule();
    }

    attributeChangedCallback(_name, before, after) {
      if (before !== after && this.view) this.schedule();
    }

    schedule() {
      if (this.pending) return;
      this.pending = true; // attributes set one after another load once
      queueMicrotask(() => {
        this.pending = false;
        if (this.isConnected) this.reload();
      });
    }

    /** Load again (fresh data); resolves with the first view's data, or undefined on failure. */
    reload() {
      const token = this.getAttribute("token");
      const views = viewList(null, this.getAttribute("view") || "referral");
      if (!token) {
        this.view.cfg = null;
        this.view.views = views;
        this.view.active = views[0];
        this.view.fail({ code: "missing_token", message: "<plaudit-widget> needs a token attribute." }, views[0]);
        return Promise.resolve(undefined);
      }
      return this.view.configure(
        {
          api: apiBase(this.getAttribute("api-base")),
          product: this.getAttribute("product") || null,
          token,
          refresh: this.refreshToken,
          locale: this.getAttribute("locale") || undefined,
        },
        views[0],
        views,
      );
    }

    get refreshToken() {
      return this._refresh;
    }

    set refreshToken(fn) {
      this._refresh = typeof fn === "function" ? fn : undefined;
      if (this.view && this.view.cfg) this.view.cfg.refresh = this._refresh;
    }
  }

  // --- the command API: plaudit(...) and gr(...) -----------------------------------------------
  const listeners = { ready: [], open: [], close: [], error: [], redeemed: [], redeem_failed: [] };
  let modal = null;

  function notify(type, detail) {
    for (const fn of listeners[type].slice()) {
      try {
        fn(detail);
      } catch (error) {
        setTimeout(() => {
          throw error; // the host page's handler failed: report it as the page's own error
        });
      }
    }
  }

  function load(name, command, options) {
    const o = options || {};
    if (typeof o.auth_token !== "string" || !o.auth_token) {
      warn(`${command} needs {auth_token: "<the token your backend signed>"}.`);
      notify("error", { code: "invalid_options", message: "auth_token is missing." });
      return Promise.resolve(undefined);
    }
    modal = modal || new Modal();
    const cfg = {
      api: apiBase(o.api_base),
      product: o.product_id ? String(o.product_id) : null,
      token: o.auth_token,
      refresh: typeof o.refresh_token === "function" ? o.refresh_token : undefined,
      locale: o.locale,
    };
    return modal.configure(cfg, name, viewList(name, o.tabs));
  }

  function show(name, command) {
    if (!modal) {
      warn(`${command} before loadReferralWidget or loadLoyaltyWidget: nothing to show.`);
      notify("error", { code: "not_loaded", message: "Call loadReferralWidget or loadLoyaltyWidget first." });
      return;
    }
    modal.open(name);
  }

  const hide = () => modal && modal.close();

  const commands = {
    loadReferralWidget: (options) => load("referral", "loadReferralWidget", options),
    loadLoyaltyWidget: (options) => load("loyalty", "loadLoyaltyWidget", options),
    showReferralWidget: () => show("referral", "showReferralWidget"),
    showLoyaltyWidget: () => show("loyalty", "showLoyaltyWidget"),
    hideReferralWidget: hide,
    hideLoyaltyWidget: hide,
    on(type, fn) {
      if (!listeners[type] || typeof fn !== "function") return warn(`on(${JSON.stringify(type)}, fn): unknown event or not a function.`);
      listeners[type].push(fn);
    },
    off(type, fn) {
      if (listeners[type]) listeners[type] = listeners[type].filter((f) => f !== fn);
    },
  };

  function run(args) {
    const [name, ...rest] = args;
    const command = Object.prototype.hasOwnProperty.call(commands, name) ? commands[name] : null;
    if (!command) return warn(`unknown command ${JSON.stringify(name)}.`);
    return command(...rest);
  }

  function plaudit() {
    return run([...arguments]);
  }
  plaudit.__plaudit = true;
  plaudit.version = "1";

  if (w.customElements && !w.customElements.get("plaudit-widget")) w.customElements.define("plaudit-widget", PlauditWidget);

  // Take over both queue stubs, keeping calls made before this script arrived.
  const queued = [];
  for (const name of ["plaudit", "gr"]) {
    const stub = w[name];
    if (typeof stub === "function" && !stub.q && name === "gr" && !/\.q\b/.test(Function.prototype.toString.call(stub))) {
      warn("window.gr belongs to another script; use plaudit(...) instead.");
      continue;
    }
    if (stub && Array.isArray(stub.q)) queued.push(...stub.q);
    w[name] = plaudit;
  }
  for (const args of queued) run([...args]);
})();
