// The edgefs web file browser: sign in with a token, pick an environment
// and a share, browse and change its files. Built with Hono's JSX on the
// DOM (hono/jsx/dom): the gateway already depends on Hono, its runtime is
// a few KB, and components with hooks keep the DOM updates out of our code.
import { render, useEffect, useMemo, useState } from "hono/jsx/dom";
import { Api, messageOf, type Principal, whenTokenRefused } from "./api";
import { Browser } from "./browser";
import { DialogHost } from "./dialog";
import { Notices } from "./notices";
import { go, parseRoute, type Route } from "./route";
import { ShareList } from "./shares";
import { SignIn } from "./sign-in";
import { UploadPanel } from "./upload-panel";
import { Uploads } from "./uploads";

/** The token lives in this tab's sessionStorage only: closing the tab forgets it. */
const TOKEN_KEY = "edgefs.token";

function useRoute(): Route {
  const [route, setRoute] = useState(parseRoute(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return route;
}

function App() {
  const route = useRoute();
  const [token, setToken] = useState<string | null>(sessionStorage.getItem(TOKEN_KEY));
  const [principal, setPrincipal] = useState<Principal | null>(null);
  const [checkError, setCheckError] = useState<string | null>(null);
  const api = useMemo(() => (token ? new Api(token, route.env) : null), [token, route.env]);
  const uploads = useMemo(() => new Uploads(new Api(token ?? "", route.env)), []);
  useEffect(() => {
    if (api) uploads.setApi(api);
  }, [api]);

  // A token that expires or is revoked while the page is open: back to the
  // sign-in, saying why, instead of every action failing.
  useEffect(() => {
    whenTokenRefused((e) => {
      sessionStorage.removeItem(TOKEN_KEY);
      setToken(null);
      setPrincipal(null);
      setCheckError(`${e.message} Sign in again.`);
    });
    return () => whenTokenRefused(null);
  }, []);

  // A token from an earlier load of this tab is checked again.
  useEffect(() => {
    if (!token || principal) return;
    new Api(token, "main")
      .whoami()
      .then(setPrincipal)
      .catch((e: unknown) => {
        sessionStorage.removeItem(TOKEN_KEY);
        setToken(null);
        setCheckError(messageOf(e));
      });
  }, [token]);

  const signIn = (t: string, p: Principal) => {
    sessionStorage.setItem(TOKEN_KEY, t);
    setToken(t);
    setPrincipal(p);
    // A token for one environment starts there.
    if (!p.envs.includes("*") && !p.envs.includes(route.env) && p.envs[0]) {
      go({ env: p.envs[0], share: null, path: "/", snapshot: null });
    }
  };
  const signOut = () => {
    sessionStorage.removeItem(TOKEN_KEY);
    setToken(null);
    setPrincipal(null);
  };

  if (!token || !api) return <SignIn onSignIn={signIn} error={checkError} />;
  if (!principal) return <p class="loading">Checking the token…</p>;
  return (
    <div class="app">
      <Header principal={principal} route={route} onSignOut={signOut} />
      <main id="main">
        {route.share ? (
          <Browser api={api} principal={principal} route={route} uploads={uploads} />
        ) : (
          <ShareList api={api} principal={principal} env={route.env} />
        )}
      </main>
      <UploadPanel uploads={uploads} />
      <Notices />
      <DialogHost />
    </div>
  );
}

function Header(props: { principal: Principal; route: Route; onSignOut: () => void }) {
  const { principal, route } = props;
  const [env, setEnv] = useState(route.env);
  useEffect(() => setEnv(route.env), [route.env]);
  const known = principal.envs.filter((e) => e !== "*");
  return (
    <header class="top">
      <a class="brand" href={`#/${encodeURIComponent(route.env)}`}>
        edgefs
      </a>
      <form
        class="env"
        onSubmit={(e: Event) => {
          e.preventDefault();
          const name = env.trim();
          if (name) go({ env: name, share: null, path: "/", snapshot: null });
        }}
      >
        <label for="env-input">Environment</label>
        <input
          id="env-input"
          list="env-list"
          value={env}
          size={10}
          onInput={(e: Event) => setEnv((e.target as HTMLInputElement).value)}
          onChange={(e: Event) => {
            const name = (e.target as HTMLInputElement).value.trim();
            if (name && name !== route.env)
              go({ env: name, share: null, path: "/", snapshot: null });
          }}
        />
        <datalist id="env-list">
          {["main", ...known.filter((e) => e !== "main")].map((e) => (
            <option key={e} value={e} />
          ))}
        </datalist>
      </form>
      <span class="who">
        {principal.kind === "root" ? "root token" : `token ${principal.permissions.join(", ")}`}
      </span>
      <button type="button" onClick={props.onSignOut}>
        Sign out
      </button>
    </header>
  );
}

const root = document.getElementById("app");
if (root) render(<App />, root);
