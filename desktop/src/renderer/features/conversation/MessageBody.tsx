import { call } from '../../api/client.js';
import { splitLinks } from './format.js';

/** Message text with http(s) links opened in the browser through main (no HTML injection). */
export function MessageBody({ text }: { text: string }) {
  if (!text.includes('http')) {
    // Most messages have no link: plain text, no extra element per row.
    return text;
  }
  return (
    <>
      {splitLinks(text).map((part, index) =>
        part.href ? (
          <a
            // biome-ignore lint/suspicious/noArrayIndexKey: parts are positional and never reordered
            key={index}
            href={part.href}
            rel="noreferrer noopener"
            onClick={(event) => {
              event.preventDefault();
              void call('app:open-external', { url: part.href ?? '' });
            }}
          >
            {part.text}
          </a>
        ) : (
          // biome-ignore lint/suspicious/noArrayIndexKey: parts are positional and never reordered
          <span key={index}>{part.text}</span>
        ),
      )}
    </>
  );
}
