import { useEffect, useState } from 'react';

export function App() {
  const [version, setVersion] = useState<string | null>(null);
  useEffect(() => {
    void (async () => {
      const result = await window.sotto['app:info'](undefined);
      if (result.ok) {
        setVersion(result.value.version);
      }
    })();
  }, []);
  return (
    <main>
      <h1>Sotto</h1>
      <p>{version ? `Version ${version}` : 'Starting…'}</p>
    </main>
  );
}
