import { useEffect, useState } from "hono/jsx";
import { type Api, messageOf, type Principal, type ShareInfo } from "./api";
import { ask } from "./dialog";
import { KindIcon } from "./icons";
import { notify } from "./notices";
import { formatRoute, go } from "./route";

/** The shares of an environment that this token may see (the gateway filters them). */
export function ShareList(props: { api: Api; principal: Principal; env: string }) {
  const { api, env } = props;
  const [shares, setShares] = useState<ShareInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  const admin = props.principal.permissions.includes("admin");

  useEffect(() => {
    setShares(null);
    setError(null);
    api
      .shares()
      .then(setShares)
      .catch((e: unknown) => setError(messageOf(e)));
  }, [api, reload]);

  const create = async () => {
    const name = await ask({
      title: "New share",
      input: "",
      inputLabel: "Share name",
      confirm: "Create",
    });
    if (!name) return;
    try {
      await api.request("POST", "/shares", { body: { name } });
      notify(`Created the share ${name}.`);
      go({ env, share: name, path: "/", snapshot: null });
    } catch (e) {
      notify(messageOf(e), true);
      setReload((n) => n + 1);
    }
  };

  return (
    <section class="shares" aria-labelledby="shares-title">
      <div class="bar">
        <h1 id="shares-title">Shares in {env}</h1>
        {admin && (
          <button type="button" class="primary" onClick={create}>
            New share
          </button>
        )}
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {!shares && !error && <p class="loading">Loading shares…</p>}
      {shares && shares.length === 0 && <p>No shares here that this token can see.</p>}
      {shares && shares.length > 0 && (
        <ul class="share-list">
          {shares.map((s) => (
            <li key={s.name}>
              <a href={formatRoute({ env, share: s.name, path: "/", snapshot: null })}>
                <KindIcon kind="folder" /> {s.name}
              </a>
              {s.ephemeral && <span class="badge">ephemeral</span>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
