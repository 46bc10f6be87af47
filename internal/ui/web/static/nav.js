// nav lets a page draw itself again through the router (after a change), without importing the entry module.
let router = () => {};

export function setRouter(f) { router = f; }

// redraw draws the current page again, with fresh data.
export function redraw() { router(); }
