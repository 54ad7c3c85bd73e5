// Recording players: when the audio cannot be had (our server answers 502 when Twilio does
// not serve it), say so beside the player, whose own controls would only show a silent 0:00,
// and offer to try again.
"use strict";

(function () {
  for (const player of document.querySelectorAll("[data-player]")) {
    const audio = player.querySelector("audio");
    const problem = player.querySelector(".player-error");
    const show = () => { problem.hidden = false; };
    audio.addEventListener("error", show);
    // The first attempt may have failed before this script ran.
    if (audio.error) show();
    problem.querySelector("button").addEventListener("click", () => {
      problem.hidden = true;
      audio.load();
    });
  }
})();
