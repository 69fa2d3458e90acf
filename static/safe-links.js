// Links on this site lead to web pages, never to script.
//
// Some links are built in the browser from data: datasette-cluster-map writes each
// marker's popup link from the `popup` column of whatever query is on the page, and
// a visitor's ?sql= query can put `javascript:...` there. The page's policy has to
// allow inline script (Datasette writes its own), and that lets a `javascript:` link
// run when clicked. So every click on a link, from whichever script drew it, is
// checked here first (capture phase, before any other handler): a link whose address
// is not http(s), mailto or tel does nothing.
"use strict";

const SAFE_LINK_PROTOCOLS = new Set(["http:", "https:", "mailto:", "tel:"]);

function isSafeLink(anchor) {
  return SAFE_LINK_PROTOCOLS.has(anchor.protocol);
}

document.addEventListener(
  "click",
  (event) => {
    const anchor = event.target instanceof Element ? event.target.closest("a[href], area[href]") : null;
    if (anchor && !isSafeLink(anchor)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  },
  true,
);
