/*! Plaudit referral widget | Apache-2.0 | no dependencies, no build step.
 *
 * Embed (see docs/widget.md):
 *   <script>window.plaudit = window.plaudit || function () { (plaudit.q = plaudit.q || []).push(arguments) };</script>
 *   <script async src="https://PLAUDIT/widget.js"></script>
 *   plaudit("loadReferralWidget", {auth_token: "..."}); plaudit("showReferralWidget");
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
      close: "Close",
      loading: "Loading your referral link…",
      errorExpired: "Your session has expired. Please reload the page and try again.",
      errorAuth: "We couldn't confirm your account. Please sign in again.",
      errorNetwork: "We couldn't reach the referral service. Check your connection and try again.",
      errorGeneric: "Your referral details can't be shown right now. Please try again later.",
      retry: "Try again",
      shareSubject: "Join me on {product}",
      shareText: "I use {product} and think you'd like it. Sign up with my link: {link}",
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
      close: "Schließen",
      loading: "Dein Empfehlungslink wird geladen …",
      errorExpired: "Deine Sitzung ist abgelaufen. Bitte lade die Seite neu und versuche es noch einmal.",
      errorAuth: "Wir konnten dein Konto nicht bestätigen. Bitte melde dich erneut an.",
      errorNetwork: "Der Empfehlungsdienst ist nicht erreichbar. Prüfe deine Verbindung und versuche es noch einmal.",
      errorGeneric: "Deine Empfehlungsdaten können gerade nicht angezeigt werden. Bitte versuche es später noch einmal.",
      retry: "Erneut versuchen",
      shareSubject: "Komm zu {product}",
      shareText: "Ich nutze {product} und glaube, es gefällt dir auch. Melde dich mit meinem Link an: {link}",
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
    el.append(...kids.flat().filter((kid) => kid != null && kid !== false));
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

  // --- the API call ----------------------------------------------------------------------------
  const AUTH_ERRORS = /^(missing_token|invalid_token|invalid_signature|unknown_key|key_disabled|token_revoked|token_not_yet_valid|insufficient_permissions|unknown_product|invalid_claim|invalid_issuer|invalid_audience|missing_required_claim)$/;

  async function request(cfg, lang) {
    const headers = { Authorization: "Bearer " + cfg.token, Accept: "application/json", "Accept-Language": lang };
    if (cfg.product) headers["X-Plaudit-Product"] = cfg.product;
    let response;
    try {
      response = await fetch(cfg.api + "/v1/referrals/me", { headers, credentials: "omit", cache: "no-store" });
    } catch (_) {
      return { ok: false, code: "network_error", message: "The Plaudit API could not be reached (network or CORS).", status: 0 };
    }
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      /* not JSON */
    }
    if (response.ok && body && typeof body.link === "string") return { ok: true, data: body };
    if (body && typeof body.error === "string") {
      return { ok: false, code: body.error, message: String(body.message || ""), hint: body.hint, status: response.status };
    }
    const code = response.status >= 500 ? "server_error" : "unexpected_response";
    return { ok: false, code, message: `The Plaudit API answered HTTP ${response.status}.`, status: response.status };
  }

  /** GET /v1/referrals/me; on token_expired ask refresh() once for a new token and retry once. */
  async function fetchSummary(cfg, lang) {
    let result = await request(cfg, lang);
    if (!result.ok && result.code === "token_expired" && typeof cfg.refresh === "function") {
      let token = null;
      try {
        token = await cfg.refresh();
        if (token && typeof token === "object") token = token.token;
      } catch (_) {
        token = null;
      }
      if (typeof token === "string" && token) {
        cfg.token = token;
        result = await request(cfg, lang);
      }
    }
    return result;
  }

  // --- the panel: shared by the modal and <plaudit-widget> -------------------------------------
  class View {
    constructor(host, modal) {
      this.host = host;
      this.modal = modal;
      this.root = host.shadowRoot || host.attachShadow({ mode: "open" });
      this.setTheme = styleRoot(this.root);
      this.panel = h("div", { class: "panel", part: "panel", "data-plaudit": "panel" });
      this.cfg = null;
      this.state = { status: "idle" };
      this.seq = 0;
      this.shown = "";
      this.loc = pickLocale();
      this.t = STRINGS[this.loc.lang];
      this.root.addEventListener("click", (event) => this.click(event));
    }

    configure(cfg) {
      this.cfg = cfg;
      this.loc = pickLocale(cfg.locale);
      this.t = STRINGS[this.loc.lang];
      this.shown = "";
      return this.load(false);
    }

    async load(quiet) {
      const cfg = this.cfg;
      if (!cfg) return undefined;
      const seq = ++this.seq;
      if (!quiet) this.setState({ status: "loading" });
      const result = await fetchSummary(cfg, this.loc.lang);
      if (seq !== this.seq || cfg !== this.cfg) return result.ok ? result.data : undefined; // superseded
      if (result.ok) {
        this.setState({ status: "ready", data: result.data });
        if (!quiet) this.emit("ready", result.data);
        return result.data;
      }
      const network = result.code === "network_error" || result.code === "server_error";
      if (!(quiet && network)) this.fail(result); // a background refresh keeps what it showed
      return undefined;
    }

    fail(result) {
      this.setState({ status: "error", error: result });
      this.emit("error", { code: result.code, message: result.message || "" });
    }

    setState(state) {
      this.state = state;
      if (state.data) this.setTheme(themeCss(state.data.product && state.data.product.theme));
      this.render();
    }

    emit(type, detail) {
      this.host.dispatchEvent(new CustomEvent("plaudit:" + type, { detail, bubbles: true, composed: true }));
    }

    num(value) {
      try {
        return new Intl.NumberFormat(this.loc.tag).format(Number(value) || 0);
      } catch (_) {
        return String(Number(value) || 0);
      }
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

    phrase(kind, amount) {
      const t = this.t;
      return fill(t["kind_" + kind] || t.kind_other, { n: this.num(amount), kind: String(kind || "") });
    }

    render() {
      const t = this.t;
      const { status, data, error } = this.state;
      const name = data && data.product && data.product.name;
      const kids = [
        h("h2", { id: "plaudit-title", part: "title", "data-plaudit": "title" }, name ? fill(t.titleProduct, { product: name }) : t.title),
      ];
      if (status === "ready") {
        kids.push(...this.content(data));
      } else if (status === "error") {
        kids.push(h("p", { class: "error", role: "alert", part: "error", "data-plaudit": "error" }, this.friendly(error)));
        if (error.code === "network_error" || error.code === "server_error") {
          kids.push(h("button", { type: "button", class: "btn quiet", part: "retry", "data-plaudit": "retry" }, t.retry));
        }
      } else {
        kids.push(h("p", { class: "muted", role: "status", part: "loading", "data-plaudit": "loading" }, t.loading));
      }
      const key = this.shownKey(status, data);
      if (key === this.shown) return; // nothing changed: keep the DOM (and focus, and "Copied!")
      this.shown = key;
      const active = this.root.activeElement;
      const focused = active && this.panel.contains(active) && active.getAttribute("data-plaudit");
      this.panel.setAttribute("lang", this.loc.lang);
      this.panel.replaceChildren(...kids.filter(Boolean));
      if (focused) {
        const again = this.panel.querySelector(`[data-plaudit="${focused}"]`);
        if (again) again.focus();
        else if (this.modal) this.dialog.focus();
      }
      if (this.modal) this.closeButton.setAttribute("aria-label", t.close);
    }

    shownKey(status, data) {
      return status + "\n" + this.loc.tag + "\n" + (status === "ready" ? JSON.stringify(data) : this.state.error ? this.state.error.code : "");
    }

    friendly(error) {
      const t = this.t;
      if (error.code === "token_expired") return t.errorExpired;
      if (error.code === "network_error") return t.errorNetwork;
      if (AUTH_ERRORS.test(error.code) || error.status === 401 || error.status === 403) return t.errorAuth;
      return t.errorGeneric;
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
      const totals = Object.entries(data.reward_totals || {}).filter(([, amount]) => amount);
      const rewards = Array.isArray(data.rewards) ? data.rewards : [];

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
          : h("p", { class: "muted", part: "rewards-empty", "data-plaudit": "rewards-empty" }, fill(t.rewardsNone, { event })),
        rewards.length
          ? h(
              "ul",
              { part: "rewards", "data-plaudit": "rewards" },
              rewards.map((item) =>
                h(
                  "li",
                  { part: "reward-item", "data-plaudit": "reward-item" },
                  h("span", null, "+" + this.phrase(item.kind, item.amount)),
                  h("span", { class: "muted" }, this.date(item.created_at)),
                ),
              ),
            )
          : null,
      ];
    }

    click(event) {
      const target = event.target.closest && event.target.closest("[data-plaudit]");
      const key = target && target.getAttribute("data-plaudit");
      if (key === "copy") this.copy(target);
      else if (key === "retry") this.load(false);
      else if (key === "close" && this.modal) this.close();
    }

    async copy(button) {
      const t = this.t;
      const input = this.panel.querySelector('[data-plaudit="link"]');
      const live = this.panel.querySelector('[data-plaudit="copy-status"]');
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

    open() {
      if (this.isOpen) return;
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
      this.emit("open", {});
      if (this.state.status === "ready") this.load(true); // fresh stats each time it opens
    }

    close() {
      if (!this.isOpen) return;
      this.isOpen = false;
      this.backdrop.hidden = true;
      this.host.removeAttribute("open");
      d.documentElement.style.overflow = this.overflow || "";
      d.removeEventListener("keydown", this.onKey, true);
      d.removeEventListener("focusin", this.onFocus, true);
      const back = this.restore;
      this.restore = null;
      if (back && back.isConnected && typeof back.focus === "function") back.focus();
      this.emit("close", {});
    }

    focusables() {
      return [...this.dialog.querySelectorAll('a[href],button:not([disabled]),input:not([disabled]),[tabindex]:not([tabindex="-1"])')].filter(
        (el) => el.getClientRects().length,
      );
    }

    key(event) {
      if (event.key === "Escape" || event.key === "Esc") {
        event.preventDefault();
        event.stopPropagation();
        this.close();
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

  // --- <plaudit-widget product="..." token="..." locale="..."> : the same panel, inline ----------
  class PlauditWidget extends HTMLElement {
    static get observedAttributes() {
      return ["product", "token", "locale", "api-base"];
    }

    connectedCallback() {
      if (!this.view) {
        this.view = new View(this, false);
        this.view.root.append(h("section", { class: "card", part: "card", "aria-labelledby": "plaudit-title" }, this.view.panel));
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

    /** Load again (new stats); resolves with the data, or undefined on failure. */
    reload() {
      const token = this.getAttribute("token");
      if (!token) {
        this.view.cfg = null;
        this.view.fail({ code: "missing_token", message: "<plaudit-widget> needs a token attribute." });
        return Promise.resolve(undefined);
      }
      return this.view.configure({
        api: apiBase(this.getAttribute("api-base")),
        product: this.getAttribute("product") || null,
        token,
        refresh: this.refreshToken,
        locale: this.getAttribute("locale") || undefined,
      });
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
  const listeners = { ready: [], open: [], close: [], error: [] };
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

  const commands = {
    loadReferralWidget(options) {
      const o = options || {};
      if (typeof o.auth_token !== "string" || !o.auth_token) {
        warn('loadReferralWidget needs {auth_token: "<the token your backend signed>"}.');
        notify("error", { code: "invalid_options", message: "auth_token is missing." });
        return Promise.resolve(undefined);
      }
      modal = modal || new Modal();
      return modal.configure({
        api: apiBase(o.api_base),
        product: o.product_id ? String(o.product_id) : null,
        token: o.auth_token,
        refresh: typeof o.refresh_token === "function" ? o.refresh_token : undefined,
        locale: o.locale,
      });
    },
    showReferralWidget() {
      if (!modal) {
        warn("showReferralWidget before loadReferralWidget: nothing to show.");
        notify("error", { code: "not_loaded", message: "Call loadReferralWidget first." });
        return;
      }
      modal.open();
    },
    hideReferralWidget() {
      if (modal) modal.close();
    },
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
