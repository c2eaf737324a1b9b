// A "Copy" button copies the text of the element its data-copy names, and says so on itself.
// One listener on the document, so buttons htmx swaps into the page later work too.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) return;
  await navigator.clipboard.writeText(source.textContent.trim());
  button.textContent = button.dataset.copied || button.textContent;
});
