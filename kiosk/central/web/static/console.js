// Enhancements only: every page works without this file.
import { initAll } from "./govuk-frontend/govuk-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();

// A region refreshed in place (the Kiosks page's table): every data-refresh-seconds
// (15 unless set; read at each tick, so it may change) its fragment is fetched again
// from data-refresh-url on this server and swapped in, while the tab is seen. Focus
// stays on the same link; the polite live region named by data-refresh-status says when
// the content changed. A
// refused answer (the session ended: a redirect to sign-in) stops the refreshing.
function refreshing(region) {
  const status = document.getElementById(region.dataset.refreshStatus);
  let last = Date.now();
  let busy = false;
  let timer = 0;

  function seconds() {
    const wanted = Number(region.dataset.refreshSeconds);
    return Number.isFinite(wanted) && wanted > 0 ? wanted : 15;
  }

  function say(text) {
    if (status) status.textContent = text;
  }

  async function refresh() {
    busy = true;
    try {
      const answer = await fetch(region.dataset.refreshUrl, {
        cache: "no-store",
        credentials: "same-origin",
        redirect: "manual",
        headers: { Accept: "text/html" },
      });
      if (!answer.ok) {
        clearInterval(timer);
        say("This table is no longer updated: reload the page.");
        return;
      }
      const parsed = new DOMParser().parseFromString(await answer.text(), "text/html");
      const fresh = parsed.body.firstElementChild;
      if (fresh === null) return;
      const before = region.querySelector("tbody, p");
      const after = fresh.querySelector("tbody, p");
      const changed = (before && before.outerHTML) !== (after && after.outerHTML);
      const focused = region.contains(document.activeElement)
        ? document.activeElement.getAttribute("href")
        : null;
      region.replaceChildren(document.importNode(fresh, true));
      if (focused !== null) {
        const again = [...region.querySelectorAll("a[href]")].find(
          (link) => link.getAttribute("href") === focused,
        );
        if (again) {
          again.focus();
        } else {
          region.tabIndex = -1;
          region.focus();
        }
      }
      if (changed) say(`Updated at ${fresh.dataset.updated}`);
    } catch {
      // The server could not be reached: try again at the next tick.
    } finally {
      last = Date.now();
      busy = false;
    }
  }

  timer = setInterval(() => {
    if (!busy && !document.hidden && Date.now() - last >= seconds() * 1000) refresh();
  }, 250);
}

document.querySelectorAll("[data-refresh-url]").forEach(refreshing);
