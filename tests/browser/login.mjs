// Log in to the demo's Home Assistant, the way a person does, and wait until the
// login is complete: shared by demo.mjs and zones.mjs.
//
// The login form sends the browser to /lovelace?auth_callback=1&code=...; only then
// does the frontend trade that code for tokens (POST /auth/token), store them
// (localStorage "hassTokens", because "Keep me logged in" is preselected on a local
// network), connect its websocket, and drop auth_callback from the address. Until
// that has happened the session lives only in the page: a navigation to another
// address (page.goto) loads the frontend without tokens and lands on the login form
// again. So "the address is /lovelace" is not "logged in"; the code leaving the
// address is.

export async function logIn(page, demo) {
  await page.goto(demo.url);
  await page.locator('input[name="username"]').fill(demo.username);
  await page.locator('input[name="password"]').fill(demo.password);
  await page.keyboard.press("Enter");
  await page.waitForURL(
    (url) => url.pathname.startsWith("/lovelace") && !url.searchParams.has("auth_callback"),
  );
  const remembered = await page.evaluate(() => window.localStorage.getItem("hassTokens") !== null);
  if (!remembered) {
    throw new Error("check failed: the login is remembered (the frontend stored no tokens)");
  }
}
