<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ro_RO">
  <context>
    <name>tstray</name>
    <message>
      <location filename="../../tstray/signin/browser.py" />
      <source>The callback URL {url} is not a loopback http:// address.</source>
      <translation>URL-ul de callback {url} nu este o adresă http:// locală (loopback).</translation>
    </message>
    <message>
      <location filename="../../tstray/signin/browser.py" />
      <source>The callback URL's host {host} is not a loopback address.</source>
      <translation>Gazda {host} din URL-ul de callback nu este o adresă locală (loopback).</translation>
    </message>
    <message>
      <location filename="../../tstray/signin/browser.py" />
      <location filename="../../tstray/ui/texts.py" />
      <source>Signed in</source>
      <translation>Autentificat</translation>
    </message>
    <message>
      <location filename="../../tstray/signin/browser.py" />
      <source>You are signed in to tstray; you can close this tab.</source>
      <translation>Te-ai autentificat în tstray; poți închide această filă.</translation>
    </message>
    <message>
      <location filename="../../tstray/signin/browser.py" />
      <source>Sign-in did not finish</source>
      <translation>Autentificarea nu s-a încheiat</translation>
    </message>
    <message>
      <location filename="../../tstray/signin/browser.py" />
      <source>TradeStation answered: {reason}. You can close this tab.</source>
      <translation>TradeStation a răspuns: {reason}. Poți închide această filă.</translation>
    </message>
    <message>
      <location filename="../../tstray/signin/browser.py" />
      <source>Port {port} is in use by another program, so the browser's sign-in answer cannot be received. Close that program, or choose another callback URL that your API key's list of allowed callback URLs includes.</source>
      <translation>Portul {port} este folosit de alt program, așa că răspunsul de autentificare din browser nu poate fi primit. Închide acel program sau alege alt URL de callback, unul aflat în lista de URL-uri de callback permise a cheii API.</translation>
    </message>
    <message>
      <location filename="../../tstray/signin/browser.py" />
      <source>Could not listen on port {port}: {reason}</source>
      <translation>Nu pot asculta pe portul {port}: {reason}</translation>
    </message>
    <message>
      <location filename="../../tstray/signin/browser.py" />
      <source>Not found</source>
      <translation>Pagină inexistentă</translation>
    </message>
    <message>
      <location filename="../../tstray/signin/browser.py" />
      <source>This address belongs to tstray.</source>
      <translation>Această adresă aparține tstray.</translation>
    </message>
    <message>
      <location filename="../../tstray/signin/browser.py" />
      <source>Wrong address</source>
      <translation>Adresă greșită</translation>
    </message>
    <message>
      <location filename="../../tstray/signin/browser.py" />
      <source>Not the expected sign-in</source>
      <translation>Nu este autentificarea așteptată</translation>
    </message>
    <message>
      <location filename="../../tstray/signin/browser.py" />
      <source>Start the sign-in again from the tstray menu.</source>
      <translation>Pornește din nou autentificarea din meniul tstray.</translation>
    </message>
    <message>
      <location filename="../../tstray/signin/browser.py" />
      <source>Already signed in</source>
      <translation>Deja autentificat</translation>
    </message>
    <message>
      <location filename="../../tstray/signin/browser.py" />
      <source>Could not open the system browser.</source>
      <translation>Nu am putut deschide browserul sistemului.</translation>
    </message>
    <message>
      <location filename="../../tstray/signin/launcher.py" />
      <source>The sign-in window cannot run as root: its browser engine refuses to start there. Run tstray as your normal user, or use “Sign in with my browser…”.</source>
      <translation>Fereastra de autentificare nu poate rula ca root: motorul ei de navigare refuză să pornească așa. Pornește tstray ca utilizatorul tău obișnuit sau folosește „Autentificare în browserul meu…”.</translation>
    </message>
    <message>
      <location filename="../../tstray/signin/window.py" />
      <source>Not secure: {host}</source>
      <translation>Nesigur: {host}</translation>
    </message>
    <message>
      <location filename="../../tstray/tray_app.py" />
      <source>Sign in to TradeStation (demo)</source>
      <translation>Autentificare la TradeStation (demo)</translation>
    </message>
    <message>
      <location filename="../../tstray/tray_app.py" />
      <source>Sign in to TradeStation</source>
      <translation>Autentificare la TradeStation</translation>
    </message>
    <message>
      <location filename="../../tstray/tray_app.py" />
      <source>tstray is running without an icon</source>
      <translation>tstray rulează fără pictogramă</translation>
    </message>
    <message>
      <location filename="../../tstray/tray_app.py" />
      <source>This desktop shows no tray icons. Local programs still get tokens; use “tstray login” and “tstray status” from a terminal.</source>
      <translation>Acest desktop nu afișează pictograme în bara de sistem. Programele locale primesc în continuare tokenuri; folosește „tstray login” și „tstray status” dintr-un terminal.</translation>
    </message>
    <message>
      <location filename="../../tstray/tray_app.py" />
      <source>Problem in the settings file</source>
      <translation>Problemă în fișierul de setări</translation>
    </message>
    <message>
      <location filename="../../tstray/tray_app.py" />
      <source>Local token service not started</source>
      <translation>Serviciul local de tokenuri nu a pornit</translation>
    </message>
    <message>
      <location filename="../../tstray/tray_app.py" />
      <source>Sign-in cancelled</source>
      <translation>Autentificare anulată</translation>
    </message>
    <message>
      <location filename="../../tstray/tray_app.py" />
      <source>Sign-in failed</source>
      <translation>Autentificarea a eșuat</translation>
    </message>
    <message>
      <location filename="../../tstray/tray_app.py" />
      <source>No token to copy</source>
      <translation>Niciun token de copiat</translation>
    </message>
    <message>
      <location filename="../../tstray/tray_app.py" />
      <source>There is no valid access token right now.</source>
      <translation>Momentan nu există niciun token de acces valid.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/account_actions.py" />
      <source>the local port</source>
      <translation>portul local</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/account_actions.py" />
      <source>the refresh margin</source>
      <translation>marja de reîmprospătare</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/account_actions.py" />
      <source>notifications on or off</source>
      <translation>activarea notificărilor</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/account_actions.py" />
      <source>Demo (tstray's own sign-in service, no real account)</source>
      <translation>Demo (serviciul de autentificare propriu al tstray, fără cont real)</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/account_actions.py" />
      <source>Simulator (sim-api.tradestation.com)</source>
      <translation>Simulator (sim-api.tradestation.com)</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/account_actions.py" />
      <source>Live (api.tradestation.com)</source>
      <translation>Real (api.tradestation.com)</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/account_actions.py" />
      <source>Could not save the settings</source>
      <translation>Nu am putut salva setările</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/account_actions.py" />
      <source>Could not save the client secret</source>
      <translation>Nu am putut salva secretul de client</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/account_actions.py" />
      <source>Could not change start at login</source>
      <translation>Nu am putut schimba pornirea la intrarea în sesiune</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/account_actions.py" />
      <source>Some settings wait for a restart</source>
      <translation>Unele setări așteaptă o repornire</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/account_actions.py" />
      <source>These take effect after tstray restarts: {settings}.</source>
      <translation>Acestea intră în vigoare după repornirea tstray: {settings}.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/account_actions.py" />
      <source>Revoke at TradeStation?</source>
      <translation>Revoci la TradeStation?</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/account_actions.py" />
      <source>This revokes every refresh token of your API key at TradeStation: on every computer and in every program that uses this key, not only here. Each of them will need a new sign-in.</source>
      <translation>Astfel se revocă la TradeStation toate tokenurile de reîmprospătare ale cheii tale API: pe fiecare calculator și în fiecare program care folosește această cheie, nu doar aici. Fiecare dintre ele va avea nevoie de o nouă autentificare.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/account_actions.py" />
      <source>tstray then signs out here. To sign out of this computer only, choose “Sign out” instead.</source>
      <translation>Apoi tstray se deconectează și aici. Ca să te deconectezi doar de pe acest calculator, alege în schimb „Deconectare”.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/account_actions.py" />
      <source>&amp;Revoke everywhere</source>
      <translation>&amp;Revocă peste tot</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/account_actions.py" />
      <source>Could not revoke</source>
      <translation>Revocarea nu a reușit</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/account_actions.py" />
      <source>{reason}. Nothing was signed out; try again later.</source>
      <translation>{reason}. Nu s-a deconectat nimic; încearcă din nou mai târziu.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/account_actions.py" />
      <source>Revoked at TradeStation</source>
      <translation>Revocat la TradeStation</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/account_actions.py" />
      <source>Every refresh token of this API key is revoked, and tstray signed out.</source>
      <translation>Toate tokenurile de reîmprospătare ale acestei chei API sunt revocate, iar tstray s-a deconectat.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/first_run.py" />
      <location filename="../../tstray/ui/setup_wizard.py" />
      <source>Set up tstray</source>
      <translation>Configurare tstray</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/first_run.py" />
      <source>tstray signs in to TradeStation for your programs and keeps the session alive. It needs your TradeStation API key. The client secret is kept in your system keyring, never in a file.</source>
      <translation>tstray se autentifică la TradeStation pentru programele tale și menține sesiunea activă. Are nevoie de cheia ta API TradeStation. Secretul de client este păstrat în seiful de parole al sistemului, niciodată într-un fișier.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/first_run.py" />
      <location filename="../../tstray/ui/setup_wizard.py" />
      <source>No API key yet? TradeStation explains how to get one at:</source>
      <translation>Nu ai încă o cheie API? TradeStation explică aici cum obții una:</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/first_run.py" />
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>the key TradeStation gave you</source>
      <translation>cheia primită de la TradeStation</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/first_run.py" />
      <source>leave empty if your key uses PKCE</source>
      <translation>lasă gol dacă cheia folosește PKCE</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/first_run.py" />
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>&amp;API key:</source>
      <translation>Cheie &amp;API:</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/first_run.py" />
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>Client &amp;secret:</source>
      <translation>&amp;Secret de client:</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/notifications.py" />
      <location filename="../../tstray/ui/texts.py" />
      <source>TradeStation no longer accepts the sign-in</source>
      <translation>TradeStation nu mai acceptă autentificarea</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/notifications.py" />
      <source>TradeStation sign-in needed</source>
      <translation>Este necesară autentificarea la TradeStation</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/notifications.py" />
      <source>{reason}. Programs get no token until you sign in again. {fix}</source>
      <translation>{reason}. Programele nu primesc niciun token până nu te autentifici din nou. {fix}</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/notifications.py" />
      <source>The token has expired, so programs get no token until then.</source>
      <translation>Tokenul a expirat, așa că programele nu primesc niciun token până atunci.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/notifications.py" />
      <source>Programs still get the current token until it expires.</source>
      <translation>Programele primesc în continuare tokenul actual, până când expiră.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/notifications.py" />
      <source>no answer</source>
      <translation>niciun răspuns</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/notifications.py" />
      <source>Token refresh failing</source>
      <translation>Reîmprospătarea tokenului eșuează</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/notifications.py" />
      <source>tstray has not refreshed the token for {duration} ({reason}) and keeps retrying. {effect} {fix}</source>
      <translation>tstray nu a mai reușit să reîmprospăteze tokenul de {duration} ({reason}) și încearcă în continuare. {effect} {fix}</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/notifications.py" />
      <source>Token refresh working again</source>
      <translation>Reîmprospătarea tokenului funcționează din nou</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/notifications.py" />
      <source>tstray refreshed the token; programs get fresh tokens again.</source>
      <translation>tstray a reîmprospătat tokenul; programele primesc din nou tokenuri proaspete.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/notifications.py" />
      <source>Sign in</source>
      <translation>Autentificare</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/reminders.py" />
      <source>tstray is signed out</source>
      <translation>tstray nu este autentificat</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/reminders.py" />
      <source>TradeStation needs you to sign in again</source>
      <translation>TradeStation îți cere să te autentifici din nou</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/reminders.py" />
      <source>this sign-in runs out before then</source>
      <translation>autentificarea actuală expiră înainte de atunci</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/reminders.py" />
      <source>TradeStation ends this sign-in at {time} (in {duration}); after that your programs get no token until you sign in again. Choose “Sign in” when it suits you to start a new 24 hours.</source>
      <translation>TradeStation încheie această autentificare la {time} (peste {duration}); după aceea programele tale nu primesc niciun token până nu te autentifici din nou. Alege „Autentificare” când îți convine, ca să începi alte 24 de ore.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/reminders.py" />
      <source>TradeStation sign-in ends soon</source>
      <translation>Autentificarea la TradeStation expiră în curând</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/reminders.py" />
      <source>Sign in before the market opens</source>
      <translation>Autentifică-te înainte de deschiderea pieței</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/reminders.py" />
      <source>The market opens at {time} and {reason}. Choose “Sign in” now so your programs have a token at the open.</source>
      <translation>Piața se deschide la {time}, iar {reason}. Alege acum „Autentificare”, ca programele tale să aibă token la deschidere.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>Needed for any sign-in; always on.</source>
      <translation>Necesar pentru orice autentificare; mereu activ.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>Needed for the refresh token that keeps you signed in; always on.</source>
      <translation>Necesar pentru tokenul de reîmprospătare care te ține autentificat; mereu activ.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>Your name, shown in the tray and the status window.</source>
      <translation>Numele tău, afișat în bara de sistem și în fereastra de stare.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>Quotes, bars and market data.</source>
      <translation>Cotații, bare și date de piață.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>Balances, positions and orders (read only).</source>
      <translation>Solduri, poziții și ordine (doar citire).</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>Placing and changing orders.</source>
      <translation>Plasarea și modificarea ordinelor.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>Crypto accounts (only on keys that have it).</source>
      <translation>Conturi crypto (doar la cheile care le au).</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>Market depth (only on keys that have it).</source>
      <translation>Adâncimea pieței (doar la cheile care o au).</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>Option spread orders (only on keys that have it).</source>
      <translation>Ordine pe spreaduri de opțiuni (doar la cheile care le au).</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>from your key's page; empty only for a PKCE key</source>
      <translation>de pe pagina cheii; gol doar pentru o cheie PKCE</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>kept in the keyring; leave empty to keep it</source>
      <translation>păstrat în seiful de parole; lasă gol ca să rămână</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>Use &amp;PKCE (keys without a client secret need it)</source>
      <translation>Folosește &amp;PKCE (necesar cheilor fără secret de client)</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>One of the Callback URLs listed for your key on TradeStation's page.</source>
      <translation>Unul dintre URL-urile de callback listate pentru cheia ta pe pagina TradeStation.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>&amp;Callback URL:</source>
      <translation>URL de &amp;callback:</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>&amp;Live</source>
      <translation>&amp;Real</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>Si&amp;mulator</source>
      <translation>Si&amp;mulator</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>The sign-in is the same for both; this picks which API programs reach through tstray by default, and what the status window shows.</source>
      <translation>Autentificarea este aceeași pentru ambele; aici alegi la ce API ajung implicit programele prin tstray și ce arată fereastra de stare.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>&amp;Environment:</source>
      <translation>M&amp;ediu:</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>Set in config.toml.</source>
      <translation>Setat în config.toml.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>tstray settings</source>
      <translation>Setări tstray</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>What programs may do with the token. Tick only what your key allows; a scope the key lacks makes the sign-in fail.</source>
      <translation>Ce pot face programele cu tokenul. Bifează doar ce permite cheia ta; o permisiune pe care cheia nu o are face ca autentificarea să eșueze.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source> s</source>
      <translation> s</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>Refresh this long before the token expires.</source>
      <translation>Reîmprospătează cu atât timp înainte să expire tokenul.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>The local port programs ask for tokens on; a change needs a restart.</source>
      <translation>Portul local pe care programele cer tokenuri; o schimbare cere o repornire.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>Show &amp;notifications</source>
      <translation>Afișează &amp;notificări</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/settings_dialog.py" />
      <location filename="../../tstray/ui/setup_wizard.py" />
      <source>Start tstray when I &amp;log in</source>
      <translation>Pornește tstray când &amp;intru în sesiune</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>&amp;Refresh margin:</source>
      <translation>&amp;Marjă de reîmprospătare:</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>Local &amp;port:</source>
      <translation>&amp;Port local:</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>Sign-in</source>
      <translation>Autentificare</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>Permissions</source>
      <translation>Permisiuni</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/settings_dialog.py" />
      <source>General</source>
      <translation>General</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/setup_wizard.py" />
      <source>Your TradeStation API key</source>
      <translation>Cheia ta API TradeStation</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/setup_wizard.py" />
      <source>tstray signs in to TradeStation for your programs and keeps the session alive. The client secret is kept in your system keyring, never in a file.</source>
      <translation>tstray se autentifică la TradeStation pentru programele tale și ține sesiunea activă. Secretul de client stă în seiful de parole al sistemului, nu într-un fișier.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/setup_wizard.py" />
      <source>How the key is set up</source>
      <translation>Cum este configurată cheia</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/setup_wizard.py" />
      <source>Pick what your key's page at TradeStation lists. Unsure? The defaults suit a new key.</source>
      <translation>Alege ce arată pagina cheii tale la TradeStation. Nu ești sigur? Valorile implicite se potrivesc unei chei noi.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/setup_wizard.py" />
      <source>Scopes:</source>
      <translation>Permisiuni:</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/setup_wizard.py" />
      <source>Test by signing in</source>
      <translation>Testează prin autentificare</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/setup_wizard.py" />
      <source>“Sign in to test” saves these settings and opens TradeStation's sign-in window. Signing in there proves that the key, secret, callback URL and scopes work.</source>
      <translation>„Testează prin autentificare” salvează aceste setări și deschide fereastra de autentificare TradeStation. O autentificare reușită acolo dovedește că cheia, secretul, URL-ul de callback și permisiunile funcționează.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/setup_wizard.py" />
      <source>If the sign-in fails, the message says why; change the values any time with “Settings…” in the tray menu.</source>
      <translation>Dacă autentificarea eșuează, mesajul spune de ce; poți schimba oricând valorile din „Setări…”, în meniul din bara de sistem.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/setup_wizard.py" />
      <source>&amp;Sign in to test</source>
      <translation>&amp;Testează prin autentificare</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/status_dialog.py" />
      <source>now</source>
      <translation>acum</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/status_dialog.py" />
      <source>in {countdown} ({time})</source>
      <translation>peste {countdown} ({time})</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/status_dialog.py" />
      <source>now: the 24-hour limit has passed</source>
      <translation>acum: limita de 24 de ore a trecut</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/status_dialog.py" />
      <source>in {duration} ({time})</source>
      <translation>peste {duration} ({time})</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/status_dialog.py" />
      <source>valid for {countdown} (expires {time})</source>
      <translation>valid încă {countdown} (expiră la {time})</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/status_dialog.py" />
      <source>tstray status</source>
      <translation>Stare tstray</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/status_dialog.py" />
      <source>State:</source>
      <translation>Stare:</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/status_dialog.py" />
      <source>Account:</source>
      <translation>Cont:</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/status_dialog.py" />
      <source>Environment:</source>
      <translation>Mediu:</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/status_dialog.py" />
      <source>Token:</source>
      <translation>Token:</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/status_dialog.py" />
      <source>Next refresh:</source>
      <translation>Următoarea reîmprospătare:</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/status_dialog.py" />
      <source>Sign in again by:</source>
      <translation>Autentificare din nou până la:</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/status_dialog.py" />
      <source>Problem:</source>
      <translation>Problemă:</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/status_dialog.py" />
      <source>What to do:</source>
      <translation>Ce e de făcut:</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/status_dialog.py" />
      <source>&amp;Copy token</source>
      <translation>&amp;Copiază tokenul</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/status_dialog.py" />
      <source>Open &amp;log folder</source>
      <translation>Deschide dosarul de &amp;jurnal</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/status_dialog.py" />
      <source>Last 24 hours</source>
      <translation>Ultimele 24 de ore</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/status_dialog.py" />
      <source>&amp;Sign in</source>
      <translation>&amp;Autentificare</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/status_dialog.py" />
      <source>&amp;Sign in again</source>
      <translation>&amp;Autentificare din nou</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/store_notices.py" />
      <source>Saved sign-in cannot be read</source>
      <translation>Autentificarea salvată nu poate fi citită</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/store_notices.py" />
      <source>{reason}. tstray leaves it as it is until you sign in again.</source>
      <translation>{reason}. tstray o lasă neatinsă până când te autentifici din nou.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/store_notices.py" />
      <source>Programs still get tokens: tstray keeps the sign-in in memory and saves it as soon as the keyring lets it.</source>
      <translation>Programele primesc în continuare tokenuri: tstray păstrează autentificarea în memorie și o salvează imediat ce seiful de parole permite.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/store_notices.py" />
      <source>tstray keeps trying to read it.</source>
      <translation>tstray încearcă în continuare să o citească.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/store_notices.py" />
      <source>Keyring not available</source>
      <translation>Seiful de parole nu este disponibil</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/store_notices.py" />
      <source>{reason}. {effect}</source>
      <translation>{reason}. {effect}</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>{seconds} s</source>
      <translation>{seconds} s</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>{minutes} min</source>
      <translation>{minutes} min</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>{hours} h</source>
      <translation>{hours} h</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>{hours} h {minutes} min</source>
      <translation>{hours} h {minutes} min</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>TradeStation refused the saved sign-in</source>
      <translation>TradeStation a refuzat autentificarea salvată</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>the sign-in gave no refresh token</source>
      <translation>autentificarea nu a dat niciun token de reîmprospătare</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>the sign-in was declined</source>
      <translation>autentificarea a fost refuzată</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>TradeStation refused the API key or client secret</source>
      <translation>TradeStation a refuzat cheia API sau secretul de client</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>TradeStation could not be reached</source>
      <translation>TradeStation nu a putut fi contactat</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>TradeStation's sign-in service answered with an error</source>
      <translation>serviciul de autentificare TradeStation a răspuns cu o eroare</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>the system keyring cannot be used right now</source>
      <translation>seiful de parole al sistemului nu poate fi folosit acum</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>the saved sign-in in the keyring cannot be read</source>
      <translation>autentificarea salvată în seiful de parole nu poate fi citită</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>Choose “Sign in again…” in the tray menu.</source>
      <translation>Alege „Autentificare din nou…” din meniul din bara de sistem.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>Check the API key and client secret in the first-run window (or config.toml), then sign in again.</source>
      <translation>Verifică cheia API și secretul de client în fereastra de configurare (sau în config.toml), apoi autentifică-te din nou.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>Check your internet connection; tstray keeps retrying on its own.</source>
      <translation>Verifică conexiunea la internet; tstray reîncearcă singur în continuare.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>TradeStation's sign-in service is having trouble; tstray keeps retrying on its own.</source>
      <translation>Serviciul de autentificare TradeStation are probleme; tstray reîncearcă singur în continuare.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>Unlock your keyring (password manager); tstray retries on its own.</source>
      <translation>Deblochează seiful de parole (managerul de parole); tstray reîncearcă singur.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>The saved sign-in could not be read; choose “Sign in again…” in the tray menu.</source>
      <translation>Autentificarea salvată nu a putut fi citită; alege „Autentificare din nou…” din meniul din bara de sistem.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>Open the log folder for details; sign in again if it goes on.</source>
      <translation>Deschide dosarul de jurnal pentru detalii; autentifică-te din nou dacă problema persistă.</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>Signed in as {account}</source>
      <translation>Autentificat ca {account}</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>No token held</source>
      <translation>Niciun token deținut</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>Token expired; no token can be handed out</source>
      <translation>Token expirat; nu se poate da niciun token</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>Token valid for {duration}</source>
      <translation>Token valid încă {duration}</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>retrying</source>
      <translation>se reîncearcă</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>retrying now</source>
      <translation>se reîncearcă acum</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>retrying in {duration}</source>
      <translation>reîncercare peste {duration}</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>Keyring locked, stored sign-in not read yet</source>
      <translation>Seiful de parole e blocat, autentificarea salvată nu a fost citită încă</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>Signed out</source>
      <translation>Deconectat</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>{account}, refreshing the token</source>
      <translation>{account}, se reîmprospătează tokenul</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>Token refresh failed, {retry}</source>
      <translation>Reîmprospătarea tokenului a eșuat, {retry}</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>Can't reach TradeStation, {retry}</source>
      <translation>TradeStation nu poate fi contactat, {retry}</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>Token expired, {retry}</source>
      <translation>Token expirat, {retry}</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>Sign-in needed</source>
      <translation>Este necesară autentificarea</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>Sign-in needed: {reason}</source>
      <translation>Este necesară autentificarea: {reason}</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>{headline} — no token can be handed out</source>
      <translation>{headline} — nu se poate da niciun token</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>{headline} — token valid for {duration}</source>
      <translation>{headline} — token valid încă {duration}</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>tstray — {headline}</source>
      <translation>tstray — {headline}</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>Unlock your keyring; tstray tries again every 30 s</source>
      <translation>Deblochează seiful de parole; tstray încearcă din nou la fiecare 30 s</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>Click to sign in to TradeStation</source>
      <translation>Clic pentru autentificare la TradeStation</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/texts.py" />
      <source>Click to sign in again</source>
      <translation>Clic pentru a te autentifica din nou</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/timeline.py" />
      <source>Last 24 hours: {refreshes} refreshes, {failures} failures, {sign_ins} sign-ins; not working for {duration}</source>
      <translation>Ultimele 24 de ore: reîmprospătări: {refreshes}, eșecuri: {failures}, autentificări: {sign_ins}; nefuncțional timp de {duration}</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/timeline.py" />
      <source>valid</source>
      <translation>valid</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/timeline.py" />
      <source>retrying/offline</source>
      <translation>reîncercare/fără conexiune</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/timeline.py" />
      <source>sign-in needed</source>
      <translation>autentificare necesară</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/timeline.py" />
      <source>not running</source>
      <translation>oprit</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/timeline.py" />
      <source>refresh</source>
      <translation>reîmprospătare</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/timeline.py" />
      <source>failure</source>
      <translation>eșec</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/timeline.py" />
      <source>sign-in</source>
      <translation>autentificare</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/tray.py" />
      <source>Sign in with my browser…</source>
      <translation>Autentificare în browserul meu…</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/tray.py" />
      <source>Settings…</source>
      <translation>Setări…</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/tray.py" />
      <source>Revoke at TradeStation…</source>
      <translation>Revocare la TradeStation…</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/tray.py" />
      <source>Copy access token</source>
      <translation>Copiază tokenul de acces</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/tray.py" />
      <source>Status…</source>
      <translation>Stare…</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/tray.py" />
      <source>Sign out</source>
      <translation>Deconectare</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/tray.py" />
      <source>Quit</source>
      <translation>Ieșire</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/tray.py" />
      <source>Sign in…</source>
      <translation>Autentificare…</translation>
    </message>
    <message>
      <location filename="../../tstray/ui/tray.py" />
      <source>Sign in again…</source>
      <translation>Autentificare din nou…</translation>
    </message>
  </context>
  <context>
    <name>QPlatformTheme</name>
    <message>
      <source>OK</source>
      <translation>OK</translation>
    </message>
    <message>
      <source>Save</source>
      <translation>Salvează</translation>
    </message>
    <message>
      <source>Close</source>
      <translation>Închide</translation>
    </message>
    <message>
      <source>Cancel</source>
      <translation>Anulează</translation>
    </message>
    <message>
      <source>Help</source>
      <translation>Ajutor</translation>
    </message>
    <message>
      <source>&amp;Yes</source>
      <translation>&amp;Da</translation>
    </message>
    <message>
      <source>&amp;No</source>
      <translation>&amp;Nu</translation>
    </message>
    <message>
      <source>Restore Defaults</source>
      <translation>Restabilește valorile implicite</translation>
    </message>
    <message>
      <source>Apply</source>
      <translation>Aplică</translation>
    </message>
    <message>
      <source>Reset</source>
      <translation>Resetează</translation>
    </message>
    <message>
      <source>Discard</source>
      <translation>Renunță</translation>
    </message>
    <message>
      <source>Open</source>
      <translation>Deschide</translation>
    </message>
    <message>
      <source>Abort</source>
      <translation>Abandonează</translation>
    </message>
    <message>
      <source>Retry</source>
      <translation>Reîncearcă</translation>
    </message>
    <message>
      <source>Ignore</source>
      <translation>Ignoră</translation>
    </message>
  </context>
  <context>
    <name>QWizard</name>
    <message>
      <source>&lt; &amp;Back</source>
      <translation>&lt; Îna&amp;poi</translation>
    </message>
    <message>
      <source>&amp;Next &gt;</source>
      <translation>Î&amp;nainte &gt;</translation>
    </message>
    <message>
      <source>&amp;Finish</source>
      <translation>&amp;Termină</translation>
    </message>
    <message>
      <source>Cancel</source>
      <translation>Anulează</translation>
    </message>
    <message>
      <source>Commit</source>
      <translation>Confirmă</translation>
    </message>
    <message>
      <source>&amp;Help</source>
      <translation>&amp;Ajutor</translation>
    </message>
  </context>
</TS>
